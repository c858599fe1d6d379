public enum MailRelayVersion { public static let string = "0.1.0" }
