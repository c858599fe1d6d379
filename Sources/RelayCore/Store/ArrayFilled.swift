extension Array {
    /// `count` copies of `value`, as `Array(repeating:count:)` makes them, without its allocation:
    /// that goes through a standard-library entry that is not specialised and looks the array's
    /// storage type up at run time (about 700 instructions a call in the report's profile, where
    /// each message makes several of these), while reserving capacity here is specialised.
    @inlinable init(filled value: Element, count: Int) {
        self.init()
        reserveCapacity(count)
        for _ in 0..<count { append(value) }
    }
}
