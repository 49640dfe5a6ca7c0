import DeskpoolCore
import DeskpoolLibvirt
import DeskpoolStore
import DeskpoolTesting
import DeskpoolTestRigs
import Foundation
import Libvirt
import Testing

/// Capacity on real guests: a spare saved to disk through libvirt's managed save and resumed
/// for a user, and a schedule's boundary passing a minute ahead on a real pool.
@Suite(
    "Saved spares and schedules on qemu:///system", .serialized,
    .enabled(if: TestTier.tinyGuest.isEnabled, Comment(rawValue: TestTier.tinyGuest.skipReason)))
struct CapacityQemuTests {
    @Test("a ready spare is saved to disk (domain stopped, managed save image); a request resumes it for the user without a boot: same boot id, the console as it was")
    func savedSpare() async throws {
        try await BrokerQemuTests.withBroker { h, sandbox, _, prefix in
            // First a running spare, whose boot is timed and whose boot id is read...
            var spec = BrokerQemuTests.pool("sv", prefix: prefix, spare: 1, max: 2)
            try await h.admin.applyPool(spec, actor: "admin:test")
            let bootStarted = ContinuousClock.now
            let desktop = try await h.running { () async throws -> Desktop in
                try await h.wait(for: "a ready spare", timeout: .seconds(600), poll: .seconds(1)) { try await h.desktops("sv", in: [.ready]).count == 1 }
                return try #require(try await h.desktops("sv", in: [.ready]).first)
            }
            let bootSeconds = (ContinuousClock.now - bootStarted) / .seconds(1)
            let domain = try await sandbox.connection.domain(named: desktop.name)
            let bootID = try await GuestConsole.exec(domain, path: "/bin/cat", arguments: ["/proc/sys/kernel/random/boot_id"])
            try await GuestConsole.waitForName(domain, desktop.name)

            // ...then the pool keeps it saved instead.
            spec.spare = 0
            spec.savedSpare = 1
            try await h.admin.applyPool(spec, actor: "admin:test")
            try await h.running {
                try await h.wait(for: "the spare saved", timeout: .seconds(300), poll: .milliseconds(500)) {
                    try await h.store.desktop(id: desktop.id)?.state == .saved
                }
            }
            #expect(try await domain.isActive() == false, "a saved spare's domain does not run (no memory, no CPU)")
            #expect(try await domain.hasManagedSave(), "its memory is in libvirt's managed save image")
            #expect(try await h.store.desktops(pool: "sv").count == 1, "the running spare became the saved one: nothing new was made")

            // Alice asks: the saved spare is hers at once and resumes.
            let asked = ContinuousClock.now
            guard case .preparing(let claimed, _) = try await h.broker.request(.init(user: "alice"), pool: "sv") else {
                Issue.record("alice expected the saved spare, resuming")
                return
            }
            #expect(claimed.id == desktop.id && claimed.state == .starting)
            try await h.running {
                try await h.wait(for: "alice's desktop ready", timeout: .seconds(300), poll: .milliseconds(200)) {
                    try await h.store.desktop(id: desktop.id)?.state == .assigned
                }
                let resumeSeconds = (ContinuousClock.now - asked) / .seconds(1)
                print("saved spare: resumed and ready for its user in \(String(format: "%.1f", resumeSeconds)) s; a fresh desktop took \(String(format: "%.1f", bootSeconds)) s to boot")
                #expect(try await domain.hasManagedSave() == false, "the save image is used up by the resume")
                #expect(try await GuestConsole.exec(domain, path: "/bin/cat", arguments: ["/proc/sys/kernel/random/boot_id"]) == bootID,
                        "the guest resumed: it did not boot again")
                // The console shows what the guest wrote when it booted, before it was saved.
                try await GuestConsole.waitForName(domain, desktop.name, deadline: .seconds(60))
                let usage = try #require(try await h.store.usage(UsageQuery(pool: "sv", user: "alice")).first)
                #expect(usage.bootSeconds != nil, "the resume is recorded as the wait's boot phase")
            }
        }
    }

    @Test("a schedule boundary a minute ahead: the entry's smaller max takes the idle spare away at the boundary, never alice's desktop")
    func scheduleBoundary() async throws {
        try await BrokerQemuTests.withBroker { h, _, _, prefix in
            var spec = BrokerQemuTests.pool("sc", prefix: prefix, spare: 1, max: 3)
            try await h.admin.applyPool(spec, actor: "admin:test")
            let alices = try await h.running { () async throws -> Desktop in
                try await h.wait(for: "a ready spare", timeout: .seconds(600), poll: .seconds(1)) { try await h.desktops("sc", in: [.ready]).count == 1 }
                guard case .assigned(let desktop) = try await h.broker.request(.init(user: "alice"), pool: "sc") else {
                    throw GuestConsole.Failure(description: "alice expected the ready spare")
                }
                try await h.wait(for: "a new ready spare besides alice's", timeout: .seconds(600), poll: .seconds(1)) {
                    try await h.desktops("sc", in: [.ready]).count == 1
                }
                return desktop
            }
            // An entry from the next minute on (UTC): max 1, no spare.
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let now = Date()
            let parts = calendar.dateComponents([.weekday, .hour, .minute, .second], from: now)
            let minute = parts.hour! * 60 + parts.minute!
            // At least 20 s ahead, so the boundary passes while the test watches.
            let from = minute + (parts.second! > 40 ? 2 : 1)
            guard from + 10 < 24 * 60 else {
                Issue.record("too close to midnight UTC for a boundary within the day; run again")
                return
            }
            let day = ScheduleEntry.Day.allCases[(parts.weekday! + 5) % 7]  // Calendar: 1 = Sunday; Day: mon first
            spec.schedule = [ScheduleEntry(days: [day], from: from, to: from + 10, spare: 0, max: 1)]
            try await h.admin.applyPool(spec, actor: "admin:test")
            let boundary = calendar.startOfDay(for: now).addingTimeInterval(TimeInterval(from * 60))
            let spare = try #require(try await h.desktops("sc", in: [.ready]).first)
            try await h.running {
                // Before the boundary, nothing changes.
                while Date() < boundary.addingTimeInterval(-3) {
                    #expect(try await h.store.desktop(id: spare.id)?.state == .ready, "the spare stays until the boundary")
                    try await Task.sleep(for: .seconds(1))
                }
                try await h.wait(for: "the spare retired after the boundary", timeout: .seconds(90), poll: .milliseconds(500)) {
                    try await h.store.desktop(id: spare.id) == nil
                }
                #expect(Date() >= boundary, "retired at the boundary, not before")
                let hers = try #require(try await h.store.desktop(id: alices.id))
                #expect(hers.user == "alice" && hers.state.isInSession, "a desktop in use is never taken away")
            }
        }
    }
}
