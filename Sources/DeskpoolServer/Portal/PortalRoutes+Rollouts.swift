import DeskpoolCore
import Hummingbird
import HTTPTypes

/// The rollout pages: every rollout, one rollout with its desktops and the actions its state
/// allows (pause, resume, cancel, roll back), and a policy form that plans or applies a
/// policy file's text. The same `PolicyRollouts` as the API does the work.
extension PortalRoutes {
    /// The most a policy form may carry: a policy file's limit, url-encoded (every byte may
    /// become three), within `http.maxBodyBytes`.
    static let policyFormBytes = 3 * PolicyFile.maxBytes + PortalForm.maxBytes

    func addRollouts(to router: Router<DeskpoolRequestContext>) {
        router.get("admin/rollouts", use: adminPage { _, _, login in
            let views = try await services.broker.rolloutViews(active: false)
            return renderer.response("admin-rollouts", adminChrome("Rollouts", login, tab: \.rollouts, RolloutsContent(views)))
        })
        router.get("admin/rollouts/:id", use: adminPage { _, context, login in
            let view = try await rolloutView(context)
            return renderer.response("admin-rollout", adminChrome("Rollout \(view.rollout.policy)", login, tab: \.rollouts, RolloutContent(view)))
        })
        router.post("admin/rollouts/:id/:action", use: adminChange { _, context, login, _ in
            guard let action = context.parameters.get("action").flatMap(Rollout.Action.init(rawValue:)) else {
                throw APIFailure(.notFound, code: "notFound", "no such action")
            }
            let id = try await rolloutView(context).rollout.id
            _ = try await services.rollouts.perform(action, id, actor: "admin:\(login.user)")
            return .redirect(to: "/admin/rollouts/\(id)")
        })
        router.get("admin/policies", use: adminPage { _, _, login in
            renderer.response("admin-policies", adminChrome("Policies", login, tab: \.policies, PoliciesContent()))
        })
        router.post("admin/policies/plan", use: adminChange(limit: Self.policyFormBytes) { request, context, login, form in
            let source = form["source"] ?? ""
            do {
                let policy = try PolicyRollouts.parse(source, file: "policy")
                let content = PoliciesContent(source: source, plan: try await services.rollouts.plan(policy), description: policy.description)
                return renderer.response("admin-policies", adminChrome("Policies", login, tab: \.policies, content))
            } catch {
                return policyRefused(error, source: source, request: request, context: context, login: login)
            }
        })
        router.post("admin/rollouts", use: adminChange(limit: Self.policyFormBytes) { request, context, login, form in
            let source = form["source"] ?? ""
            do {
                let rollout = try await services.rollouts.apply(source: source, file: "policy", actor: "admin:\(login.user)")
                return .redirect(to: "/admin/rollouts/\(rollout.id)")
            } catch {
                return policyRefused(error, source: source, request: request, context: context, login: login)
            }
        })
    }

    /// A change by an admin: the form must carry the session's CSRF token; the handler gets the form.
    func adminChange(limit: Int = PortalForm.maxBytes,
                     _ handler: @escaping @Sendable (Request, DeskpoolRequestContext, LoginSession, PortalForm) async throws -> Response) -> Handler {
        adminPage { request, context, login in
            let form = await PortalForm.read(request, context: context, limit: limit)
            guard form.carries(csrf: login.csrf) else { return csrfRefused(login) }
            return try await handler(request, context, login, form)
        }
    }

    /// The policy form again, with the text as it was sent and why it was refused.
    private func policyRefused(_ error: any Error, source: String, request: Request, context: DeskpoolRequestContext,
                               login: LoginSession) -> Response {
        let failure = failure(error, request: request, context: context)
        var page = adminChrome("Policies", login, tab: \.policies, PoliciesContent(source: source))
        page.alertMessage = Self.sentence(failure.body.error.message)
        return renderer.response("admin-policies", page, status: failure.status)
    }

    private func rolloutView(_ context: DeskpoolRequestContext) async throws -> RolloutView {
        try await services.broker.rolloutView(id: try context.name("id"))
    }
}
