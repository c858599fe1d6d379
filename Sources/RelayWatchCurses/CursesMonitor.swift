import RelayWatch

/// `relaywatch` in a real terminal: the monitor's runtime with curses as its terminal.
public enum CursesMonitor {
    public static func run(_ options: MonitorOptions) -> Int32 {
        let terminal = CursesTerminal()
        let runtime = MonitorRuntime(options: options, terminal: terminal)
        let status = runtime.run()
        terminal.shutdown()
        // Once the screen is given back: what this session read, for the shell's scrollback.
        StandardStreams.error(runtime.monitor.sessionSummary)
        return status
    }
}
