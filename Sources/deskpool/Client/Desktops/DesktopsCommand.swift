import ArgumentParser
import DeskpoolClient
import DeskpoolCore
import Foundation

/// `deskpool desktops ...`: desktops through the broker's API.
struct DesktopsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "desktops",
        abstract: "List desktops; reboot, refresh, delete, assign or unassign one (admin).",
        discussion: "ID is the desktop's id (the ID column of desktops list).",
        subcommands: [List.self, Show.self, Reboot.self, Refresh.self, Delete.self, Assign.self, Unassign.self]
    )
}

extension DesktopsCommand {
    static func table(_ desktops: [DesktopView], now: Date = Date()) -> TextTable {
        var table = TextTable("NAME", "POOL", "HOST", "VERSION", "STATE", "USER", "SINCE", "ID", "REASON")
        for d in desktops {
            table.append([d.name, d.pool, d.host, "\(d.template)@\(d.version)", d.state.rawValue, Display.text(d.user),
                          Display.age(d.updatedAt, now: now), d.id, d.reason ?? ""])
        }
        return table
    }

    static func fields(_ d: DesktopView) -> String {
        Display.fields([
            ("name", d.name), ("id", d.id), ("pool", d.pool), ("host", d.host), ("template", "\(d.template), version \(d.version)"),
            ("state", d.state.rawValue + (d.reason.map { " (\($0))" } ?? "")), ("user", Display.text(d.user)),
            ("session since", Display.time(d.sessionStartedAt)), ("client", Display.text(d.client)),
            ("created", Display.time(d.createdAt)), ("updated", Display.time(d.updatedAt)),
        ])
    }

    /// After an action: `tiny-001 (id): refreshing`.
    static func done(_ d: DesktopView, json: Bool) throws {
        if json { return printJSON(try PrettyJSON.encode(d)) }
        print("\(d.name) (\(d.id)): \(d.state.rawValue)\(d.user.map { ", user \($0)" } ?? "")")
    }

    /// Parses `--state`.
    static func state(_ text: String) throws -> DesktopState {
        guard let state = DesktopState(rawValue: text) else {
            throw ValidationError("'\(text)' is not a state: \(DesktopState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return state
    }
}
