import Foundation
import RelayCore

/// A theme: a style for every role, and what the file it came from got wrong.
public struct Theme: Sendable {
    public var name: String
    public var styles: [Role: Style]
    /// Drop colours, keep attributes (the monochrome theme, NO_COLOR).
    public var monochrome = false

    public func style(_ role: Role) -> Style {
        let s = styles[role] ?? Style()
        return monochrome ? s.withoutColour : s
    }
}

/// Reads theme files (TOML, see Themes/default.toml) key by key over the built-in default, as btop
/// does: a missing role keeps the default's style; an unknown role, an unknown attribute or a bad
/// colour is reported and skipped, never fatal.
public enum ThemeLoader {
    public struct Loaded: Sendable {
        public var theme: Theme
        /// One line per problem, for the status bar.
        public var warnings: [String]
    }

    /// The built-in default, the same text as Themes/default.toml (a test keeps them equal), so the
    /// monitor has all its roles even when no theme folder can be found.
    public static let builtinDefaultText = #"""
# relaywatch theme "default": for dark terminals.
# Each role is what a cell means; give it fg/bg colours (a name such as "green" or "bright-red",
# a 256-colour index such as 208, "#rrggbb", or "default") and attributes (bold, dim, underline,
# reverse). A role left out here keeps the built-in default's style.
name = "default"
description = "For dark terminals"

[roles]
text = { fg = "default" }
dim = { fg = "bright-black" }
title = { fg = "bright-white", bold = true }
header = { fg = "black", bg = "cyan" }
statusbar = { fg = "black", bg = "white" }
"statusbar.key" = { fg = "blue", bg = "white", bold = true }
selected = { reverse = true }
border = { fg = "bright-black" }
"tab.active" = { fg = "black", bg = "cyan", bold = true }
"tab.inactive" = { fg = "cyan" }
"reply.2xx" = { fg = "green" }
"reply.4xx" = { fg = "yellow" }
"reply.5xx" = { fg = "red" }
"reply.limit" = { fg = "magenta", bold = true }
pending = { fg = "bright-black" }
ndr = { fg = "bright-red", underline = true }
anomaly = { fg = "bright-white", bg = "red", bold = true }
warning = { fg = "yellow", bold = true }
filter = { fg = "black", bg = "yellow" }
progress = { fg = "black", bg = "green" }
sparkline = { fg = "cyan" }
"""#

    public static let builtinDefault: Theme = {
        parse(builtinDefaultText, name: "default", base: Theme(name: "default", styles: [:])).theme
    }()

    /// Parses a theme file's text over `base`.
    public static func parse(_ text: String, name: String, base: Theme = builtinDefault) -> Loaded {
        var theme = base
        theme.name = name
        var warnings: [String] = []
        let table: [(String, TOMLSubset.Value)]
        do {
            table = try TOMLSubset.parse(text)
        } catch {
            return Loaded(theme: base, warnings: ["theme \(name): line \(error.line): \(error.message); using \(base.name)"])
        }
        for (key, value) in table {
            switch key {
            case "name":
                if let n = value.string { theme.name = n }
            case "description":
                break
            case "monochrome":
                if let b = value.boolean { theme.monochrome = b } else { warnings.append("theme \(name): monochrome must be true or false") }
            case "roles":
                guard let roles = value.table else {
                    warnings.append("theme \(name): [roles] must be a table")
                    continue
                }
                for (roleName, spec) in roles {
                    guard let role = Role(rawValue: roleName) else {
                        warnings.append("theme \(name): unknown role \"\(roleName)\"")
                        continue
                    }
                    guard let fields = spec.table else {
                        warnings.append("theme \(name): \(roleName) must be a table such as { fg = \"green\" }")
                        continue
                    }
                    var style = Style()
                    for (field, v) in fields {
                        switch field {
                        case "fg", "bg":
                            let colour = v.string.flatMap(TermColor.init) ?? v.integer.flatMap { TermColor(index: $0) }
                            guard let colour else {
                                warnings.append("theme \(name): \(roleName).\(field) = \(v.shown) is not a colour (a name, 0-255 or #rrggbb)")
                                continue
                            }
                            if field == "fg" { style.fg = colour } else { style.bg = colour }
                        case "bold", "dim", "underline", "reverse":
                            guard let on = v.boolean else {
                                warnings.append("theme \(name): \(roleName).\(field) must be true or false")
                                continue
                            }
                            switch field {
                            case "bold": style.bold = on
                            case "dim": style.dim = on
                            case "underline": style.underline = on
                            default: style.reverse = on
                            }
                        default:
                            warnings.append("theme \(name): unknown attribute \"\(field)\" for \(roleName)")
                        }
                    }
                    theme.styles[role] = style
                }
            default:
                warnings.append("theme \(name): unknown key \"\(key)\"")
            }
        }
        return Loaded(theme: theme, warnings: warnings)
    }

    /// Folders searched for `NAME.toml`, first match wins: the user's
    /// ($XDG_CONFIG_HOME/relaywatch/themes, else ~/.config/relaywatch/themes), then the package's
    /// Themes folder found upward from the executable (a `swift run` or a build tree).
    public static func searchFolders(environment: [String: String], executable: String) -> [String] {
        var folders: [String] = []
        if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty {
            folders.append(xdg + "/relaywatch/themes")
        } else if let home = environment["HOME"], !home.isEmpty {
            folders.append(home + "/.config/relaywatch/themes")
        }
        var dir = executable
        for _ in 0..<6 {
            guard let slash = dir.lastIndex(of: "/") else { break }
            dir = String(dir[..<slash])
            if isFile(dir + "/Themes/default.toml") {
                folders.append(dir + "/Themes")
                break
            }
        }
        return folders
    }

    /// Theme names available in the folders (for cycling with `t`), default first.
    public static func available(in folders: [String]) -> [String] {
        var names = ["default"]
        for folder in folders {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where file.hasSuffix(".toml") {
                let name = String(file.dropLast(5))
                if !names.contains(name) { names.append(name) }
            }
        }
        return names[...0] + names.dropFirst().sorted()
    }

    /// The theme for `--theme NAME|PATH` (nil: default). NO_COLOR (any value) makes it monochrome.
    public static func resolve(_ nameOrPath: String?, folders: [String], environment: [String: String]) -> Loaded {
        var loaded: Loaded
        let wanted = nameOrPath ?? "default"
        if wanted.contains("/") {
            loaded = loadFile(wanted, name: wanted)
        } else if let folder = folders.first(where: { isFile($0 + "/" + wanted + ".toml") }) {
            loaded = loadFile(folder + "/" + wanted + ".toml", name: wanted)
        } else if wanted == "default" {
            loaded = Loaded(theme: builtinDefault, warnings: [])
        } else {
            loaded = Loaded(theme: builtinDefault, warnings: ["no theme \"\(wanted)\" (looked in \(folders.joined(separator: ", "))); using default"])
        }
        if environment["NO_COLOR"].map({ !$0.isEmpty }) ?? false { loaded.theme.monochrome = true }
        return loaded
    }

    static func loadFile(_ path: String, name: String) -> Loaded {
        let text: String
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            // Themes are small; anything past 1 MiB is not a theme.
            guard (attributes[.size] as? NSNumber)?.intValue ?? 0 <= 1 << 20 else {
                return Loaded(theme: builtinDefault, warnings: ["theme \(path): larger than 1 MiB, not a theme; using default"])
            }
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            return Loaded(theme: builtinDefault, warnings: ["theme \(path): cannot read it (\(reason)); using default"])
        }
        return parse(text, name: name)
    }

    static func isFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}
