import DeskpoolCore
import Foundation
import Hummingbird

/// The admin pages: pools with their capacity, one pool's desktops and sessions (and its use in charts), hosts,
/// templates, the audit log (read-only), and rollouts and policies (`PortalRoutes+Rollouts`).
extension PortalRoutes {
    func addAdmin(to router: Router<DeskpoolRequestContext>) {
        router.get("admin", use: adminPage { _, _, login in
            let content = PoolsContent(try await services.broker.pools(), desktops: try await services.broker.desktops(pool: nil))
            return renderer.response("admin-pools", adminChrome("Pools", login, tab: \.pools, content))
        })
        router.get("admin/pools/:name", use: adminPage { request, context, login in
            let name = try context.name("name")
            guard let pool = try await services.broker.pool(named: name) else {
                throw APIFailure(.notFound, code: "notFound", "no pool named \(name)")
            }
            let desktops = try await services.broker.desktops(pool: name)
            var content = PoolContent(pool, desktops: desktops)
            // The pool's use over the chosen period (`?days=`), from the usage history.
            let days = PoolUsageContent.days(request.uri.queryParameters["days"])
            let now = services.now(), from = now.addingTimeInterval(-Double(days) * 86_400)
            let records = try await services.broker.usage(UsageQuery(pool: name, from: from, to: now))
            content.usage = UsageContent(pool: name, days: days, summary: UsageReport.summary(records, from: from, to: now, now: now))
            content.showSchedule(of: pool, at: now)
            if let settings = pool.forecast {
                // What the reconciler forecasts now (it reads the same history every few minutes).
                let history = try await services.broker.usage(UsageQuery(pool: name, from: SpareForecaster.historyStart(at: now, settings: settings),
                                                                         to: now, limit: Int.max))
                content.forecast = ForecastContent(SpareForecaster.forecast(history, at: now, settings: settings), settings: settings, pool: pool,
                                                   at: now, capacity: PoolCapacity(desktops))
            }
            return renderer.response("admin-pool", adminChrome("Pool \(name)", login, tab: \.pools, content))
        })
        router.get("admin/pools/:name/usage", use: adminPage { request, context, login in
            let name = try context.name("name")
            guard let pool = try await services.broker.pool(named: name) else {
                throw APIFailure(.notFound, code: "notFound", "no pool named \(name)")
            }
            let days = PoolUsageContent.days(request.uri.queryParameters["days"])
            let interval = PoolUsageContent.interval(days: days)
            // The period ends at the next whole second: the page gives it (data-from, data-to) to
            // the second, so the API asked for it sums the same sessions, this second's included.
            let now = services.now(), to = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.up))
            let from = to.addingTimeInterval(-Double(days) * 86_400)
            // The query and the sums `GET /api/v1/admin/usage?bucket=` makes (AdminUsageRoutes).
            let records = try await services.broker.usage(UsageQuery(pool: name, from: from, to: to, limit: Int.max))
            guard let buckets = UsageReport.buckets(records, from: from, to: to, interval: interval, now: now) else {
                throw APIFailure(.badRequest, code: "invalidInput", "too many \(interval.rawValue)s in the period", field: "days")
            }
            // The reconciler's capacity samples (one per pool every 5 minutes): at most 90 days' worth.
            let samples = try await services.broker.capacitySamples(pool: name, from: from, to: to)
            var content = PoolUsageContent(pool: pool, days: days, from: from, to: to, interval: interval, buckets: buckets, samples: samples)
            if let settings = pool.forecast {
                // Today's forecast, hour by hour, from the weeks before today.
                let today = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
                let history = try await services.broker.usage(UsageQuery(pool: name, from: SpareForecaster.historyStart(at: today, settings: settings),
                                                                         to: now, limit: Int.max))
                content.charts.append(PoolUsageContent.forecastChart(pool: pool, settings: settings, history: history, day: today, now: now))
            }
            return renderer.response("admin-pool-usage", adminChrome("Use of pool \(name)", login, tab: \.pools, content))
        })
        router.get("admin/hosts", use: adminPage { _, _, login in
            let content = HostsContent(try await services.broker.hostViews(), replicas: try await services.broker.replicasView())
            return renderer.response("admin-hosts", adminChrome("Hosts", login, tab: \.hosts, content))
        })
        router.get("admin/templates", use: adminPage { _, _, login in
            var views: [TemplateView] = []
            for template in try await services.broker.templates() {
                views.append(TemplateView(template, versions: try await services.broker.versions(template: template.name)))
            }
            return renderer.response("admin-templates", adminChrome("Templates", login, tab: \.templates, TemplatesContent(views)))
        })
        router.get("admin/audit", use: adminPage { request, _, login in
            var query = try AdminSystemRoutes.auditQuery(request)
            // The filter form sends its empty fields: an empty filter is no filter.
            if query.subject?.isEmpty == true { query.subject = nil }
            if query.actor?.isEmpty == true { query.actor = nil }
            if query.action?.isEmpty == true { query.action = nil }
            let content = AuditContent(query, entries: try await services.broker.auditLog(query))
            return renderer.response("admin-audit", adminChrome("Audit log", login, tab: \.audit, content))
        })
        addRollouts(to: router)
    }

    /// A page for admins: others get 403, and anyone logged out is sent to log in.
    func adminPage(_ handler: @escaping @Sendable (Request, DeskpoolRequestContext, LoginSession) async throws -> Response) -> Handler {
        userPage { request, context, login in
            guard login.admin else { return errorPage(APIFailure.forbidden("This page is for administrators"), login: login) }
            return try await handler(request, context, login)
        }
    }

    func adminChrome<Content>(_ title: String, _ login: LoginSession, tab: WritableKeyPath<AdminTabs, Bool>,
                                      _ content: Content) -> PortalPage<Content> {
        var page = PortalPage(title, login: login, content: content)
        page.onAdmin = true
        var tabs = AdminTabs()
        tabs[keyPath: tab] = true
        page.adminTabs = tabs
        return page
    }
}
