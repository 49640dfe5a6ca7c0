import Foundation
public import DeskpoolCore

extension APIClient {
    /// `POST /api/v1/admin/policies/validate`: the broker parses the policy file.
    public func validatePolicy(_ source: PolicySource) async throws -> PolicySummary {
        try await call(.api(.post, "admin", "policies", "validate").sending(source))
    }

    /// `POST /api/v1/admin/policies/plan`: what applying the policy would do, per desktop.
    public func planPolicy(_ source: PolicySource) async throws -> PolicyPlan {
        try await call(.api(.post, "admin", "policies", "plan").sending(source))
    }

    /// `POST /api/v1/admin/rollouts`: applies the policy; the broker carries the rollout out.
    public func applyPolicy(_ source: PolicySource) async throws -> RolloutView {
        try await call(.api(.post, "admin", "rollouts").sending(source))
    }

    /// `GET /api/v1/admin/rollouts[?active=true]`, newest first.
    public func rollouts(active: Bool = false) async throws -> [RolloutView] {
        try await call(.api(.get, "admin", "rollouts", query: active ? [URLQueryItem(name: "active", value: "true")] : []))
    }

    /// `GET /api/v1/admin/rollouts/{id}`.
    public func rollout(_ id: String) async throws -> RolloutView {
        try await call(.api(.get, "admin", "rollouts", id))
    }

    /// `POST /api/v1/admin/rollouts/{id}/{pause|resume|cancel|rollback}`.
    public func rolloutAction(_ id: String, _ action: String) async throws -> RolloutView {
        try await call(.api(.post, "admin", "rollouts", id, action))
    }
}
