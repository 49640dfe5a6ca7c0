public import DeskpoolCore
import Foundation
import Libvirt

extension LibvirtHypervisor {
    public func probe(named name: String) async throws(DeskpoolError) -> GuestProbe {
        let operation = "probing desktop \(name)"
        guard let domain = try await domain(named: name, operation) else { return .broken("domain is missing") }
        let state: DomainState
        do throws(LibvirtError) {
            state = try await domain.state()
        } catch where error.code == .noDomain {
            return .broken("domain is missing")
        } catch {
            throw failure(operation, error)
        }
        if let reason = state.brokenReason { return .broken(reason) }
        // Paused on purpose or shutting down: not serving, not broken (yet).
        guard state.kind == .running || state.kind == .blocked else { return .booting }
        do throws(LibvirtError) {
            _ = try await domain.agentCommand(#"{"execute":"guest-ping"}"#, timeout: .seconds(2))
            return .ready
        } catch where error.code == .noSupport {
            // No agent support on this host (the test driver): a running domain is all we can know.
            return .ready
        } catch {
            // Agent not connected yet, or not answering: still booting.
            return .booting
        }
    }

    /// Writes the text to the guest's console (`/dev/tty0`) with guest-exec. The text travels
    /// as the command's standard input (base64 `input-data`), never inside a command line.
    public func rebootDesktop(named name: String) async throws(DeskpoolError) {
        let operation = "rebooting desktop \(name)"
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)")
        }
        try await libvirt(operation) { () async throws(LibvirtError) in try await domain.reboot() }
    }

    public func showMessage(_ text: String, onDesktop name: String) async throws(DeskpoolError) {
        let operation = "showing a message on desktop \(name)"
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)")
        }
        let request: [String: Any] = [
            "execute": "guest-exec",
            "arguments": [
                "path": "/bin/sh", "arg": ["-c", "cat > /dev/tty0"],
                "input-data": Data(("\n" + text + "\n").utf8).base64EncodedString(),
            ],
        ]
        let json = String(decoding: (try? JSONSerialization.data(withJSONObject: request)) ?? Data(), as: UTF8.self)
        let started = try await libvirt(operation) { () async throws(LibvirtError) in
            try await domain.agentCommand(json, timeout: .seconds(10))
        }
        guard let pid = Self.agentReturn(started)?["pid"] as? Int else {
            throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): unexpected guest-exec answer")
        }
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            let answer = try await libvirt(operation) { () async throws(LibvirtError) in
                try await domain.agentCommand(#"{"execute":"guest-exec-status","arguments":{"pid":\#(pid)}}"#, timeout: .seconds(10))
            }
            if let status = Self.agentReturn(answer), status["exited"] as? Bool == true {
                let code = status["exitcode"] as? Int ?? -1
                guard code == 0 else {
                    throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): writing to the console exited with \(code)")
                }
                return
            }
            // The guest's shell is still running: ask again shortly (bounded by the deadline).
            try? await Task.sleep(for: .milliseconds(50))
        }
        throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): the guest did not finish writing within 15 s")
    }

    /// The `return` object of a guest agent answer.
    static func agentReturn(_ json: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])?["return"] as? [String: Any]
    }
}
