import RelayWatch

/// `relaywatch` in a real terminal: the monitor's runtime with curses as its terminal.
public enum CursesMonitor {
    public static func run(_ options: MonitorOptions) -> Int32 {
        let terminal = CursesTerminal()
        defer { terminal.shutdown() }
        return MonitorRuntime(options: options, terminal: terminal).run()
    }
}
