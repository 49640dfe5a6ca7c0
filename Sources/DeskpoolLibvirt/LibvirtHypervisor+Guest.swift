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

    public func guestHostName(ofDesktop name: String) async throws(DeskpoolError) -> String? {
        let operation = "reading the host name of desktop \(name)"
        guard let domain = try await domain(named: name, operation) else { return nil }
        let answer: String
        do throws(LibvirtError) {
            answer = try await domain.agentCommand(#"{"execute":"guest-get-host-name"}"#, timeout: .seconds(2))
        } catch {
            return nil  // no agent (yet), or none on this host
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any],
              let result = object["return"] as? [String: Any], let hostName = result["host-name"] as? String else { return nil }
        return String(hostName.prefix(255))
    }

    /// Reboots the guest (ACPI, or the agent).
    public func rebootDesktop(named name: String) async throws(DeskpoolError) {
        let operation = "rebooting desktop \(name)"
        guard let domain = try await domain(named: name, operation) else {
            throw DeskpoolError(.notFound, "desktop \(name) has no domain on \(host)")
        }
        try await libvirt(operation) { () async throws(LibvirtError) in try await domain.reboot() }
    }

    /// Writes the text to the guest's console (`/dev/tty0`) with guest-exec. The text travels
    /// as the command's standard input (base64 `input-data`), never inside a command line.
    public func showMessage(_ text: String, onDesktop name: String) async throws(DeskpoolError) {
        let operation = "showing a message on desktop \(name)"
        let command = GuestCommand(path: "/bin/sh", arguments: ["-c", "cat > /dev/tty0"], input: "\n" + text + "\n")
        let result = try await guestCommand(command, timeout: .seconds(15), onDesktop: name, operation: operation)
        guard result.exitCode == 0 else {
            throw DeskpoolError(.hypervisorFailed, "\(operation) on \(host): writing to the console exited with \(result.exitCode)")
        }
    }
}
