/// What a cell on screen means, not how it looks: views paint roles, a theme maps each role to a
/// style, the backend maps styles to the terminal. So a theme change or a monochrome terminal
/// never touches a view.
public enum Role: String, CaseIterable, Sendable, Hashable {
    case text
    case dim
    case title
    case header
    case statusbar
    case keyhint = "statusbar.key"
    case selected
    case border
    case tabActive = "tab.active"
    case tabInactive = "tab.inactive"
    case reply2xx = "reply.2xx"
    case reply4xx = "reply.4xx"
    case reply5xx = "reply.5xx"
    case replyLimit = "reply.limit"
    case pending
    case ndr
    case anomaly
    case warning
    case filter
    case progress
    case sparkline
}
