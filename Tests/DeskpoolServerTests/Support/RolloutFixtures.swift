import DeskpoolCore
import Foundation

/// Policies and a rig state for the rollout tests: pool `eng` with ready desktops on version 1
/// of `tiny`, and version 2 published, so an UpdatePolicy to `latest` moves them 1 -> 2.
enum RolloutFixtures {
    /// An UpdatePolicy for pool `eng`, with `description`.
    static func updatePolicy(description: String = "eng: newest tiny") -> String {
        """
        apiVersion: deskpool/v1
        kind: UpdatePolicy
        metadata:
          name: eng-update
          description: "\(description)"
        spec:
          selector:
            pools: [eng]
          version: latest
          strategy:
            canary: 1
            waveSize: 1

        """
    }

    /// The same policy with a misspelt key in its spec.
    static let misspelt = updatePolicy().replacingOccurrences(of: "  version: latest", with: "  versoin: latest")

    /// Pool `eng` with `ready` ready desktops on version 1, then version 2 published; the
    /// broker is stopped again, so a rollout applied afterwards stays where it is.
    static func prepare(_ rig: ServerTestRig, ready: Int = 2) async throws {
        try await rig.withEngPool(ready: ready) {}
        _ = try await rig.harness.admin.publishVersion(template: "tiny", from: .file("/images/tiny-2.qcow2"), note: "second", actor: "admin:test")
    }
}
