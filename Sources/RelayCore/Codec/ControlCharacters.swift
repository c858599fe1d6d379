extension Unicode.Scalar {
    /// A character that a terminal would act on rather than show: the C0 controls but tab, DEL,
    /// and the C1 controls U+0080–U+009F (U+009B is CSI, U+009D OSC, which can retitle a window).
    /// Text from mail (addresses, replies, other MTAs' log lines) must never reach a terminal, a
    /// header line or a log line with one of these raw; the delivery log's JSON writer escapes the
    /// same set at the byte level.
    public var isTerminalControl: Bool {
        (value < 0x20 && value != 0x09) || (0x7F...0x9F).contains(value)
    }
}
