import DeskpoolCore
import Foundation
import Hummingbird
import HTTPTypes

/// The portal (HTML, server-rendered with Mustache): login, My desktops, admin pages, and
/// `/static`. Every page works without JavaScript. Forms that change something carry the
/// login session's CSRF token in the field `csrf`; the login form carries a token of its own
/// (double submit: the same random value in a short-lived cookie and in the form).
struct PortalRoutes: Sendable {
    typealias Handler = @Sendable (Request, DeskpoolRequestContext) async throws -> Response

    static let loginCookieName = "deskpool_login_csrf"
    /// How long a login form may be left open before it must be reloaded.
    static let loginFormSeconds = 900

    let services: BrokerServices
    let auth: AuthRoutes
    let desktops: DesktopRequests
    let logins: LoginSessions
    let renderer = PortalRenderer.shared

    func add(to router: Router<DeskpoolRequestContext>) {
        router.get("/") { _, context -> Response in
            .redirect(to: context.login == nil ? "/login" : "/desktops")
        }
        router.get("static/:file") { _, context -> Response in
            guard let name = context.parameters.get("file"), let response = renderer.asset(name) else { throw HTTPError(.notFound) }
            return response
        }
        // The browser console's client, from Debian's novnc package (not copied here).
        let novnc = NoVNCFiles(directory: auth.configuration.novncDirectory)
        router.get("novnc/**") { _, context -> Response in
            guard let response = novnc.response(for: context.parameters.getCatchAll()) else { throw HTTPError(.notFound) }
            return response
        }
        addLogin(to: router)
        addDesktops(to: router)
        addAdmin(to: router)
    }

    // MARK: - Login and logout

    private func addLogin(to router: Router<DeskpoolRequestContext>) {
        router.get("login", use: html { request, context in
            let next = PortalForm.safeNext(request.uri.queryParameters["next"].map(String.init))
            if context.login != nil { return .redirect(to: next ?? "/desktops") }
            return loginPage(next: next)
        })
        router.post("login", use: html { request, context in
            let form = await PortalForm.read(request, context: context)
            let next = PortalForm.safeNext(form["next"])
            let user = form["user"] ?? ""
            guard let token = request.cookies[Self.loginCookieName]?.value, form.carries(csrf: token) else {
                return loginPage(status: .forbidden, alert: "This login form has expired. Please log in again.", user: user, next: next)
            }
            let password = form["password"] ?? ""
            do {
                try AuthRoutes.checkPassword(password)
            } catch {
                return loginPage(status: .badRequest, alert: "Enter your password.", user: user, next: next)
            }
            return loginStep(await auth.conversations.begin(user: user, password: password, address: context.clientAddress,
                                                            logger: context.logger), user: user, next: next)
        })
        // A step of a login (or of a pool's further factor) that asked more: each prompt's
        // answer in `answer-N`.
        router.post("login/challenge", use: html { request, context in
            let form = await PortalForm.read(request, context: context)
            let next = PortalForm.safeNext(form["next"])
            guard let token = request.cookies[Self.loginCookieName]?.value, form.carries(csrf: token) else {
                return loginPage(status: .forbidden, alert: "This login form has expired. Please log in again.", next: next)
            }
            var answers: [String] = []
            while answers.count < 16, let answer = form["answer-\(answers.count)"] { answers.append(answer) }
            return loginStep(await auth.conversations.answer(challenge: form["challenge"] ?? "", answers: answers, logger: context.logger),
                             user: "", next: next)
        })
        router.post("logout", use: html { request, context in
            var location = "/login"
            if let login = context.login {
                let form = await PortalForm.read(request, context: context)
                guard form.carries(csrf: login.csrf) else { return csrfRefused(login) }
                try await auth.logout(context: context)
                // A kiosk's console page comes back to its pool's page after the next login.
                if let next = PortalForm.safeNext(form["next"]), next.hasPrefix("/kiosk/"),
                   let encoded = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-._~"))) {
                    location += "?next=\(encoded)"
                }
            }
            var response = Response.redirect(to: location)
            response.setCookie(auth.sessionCookie("", maxAge: 0))
            return response
        })
    }

    /// The page for a step of a login: in (to `next`, with the session's cookie), the next
    /// prompts, or the login form again with why.
    func loginStep(_ result: LoginResult, user: String, next: String?) -> Response {
        switch result {
        case .loggedIn(let token, _, let messages):
            var response = messages.isEmpty ? Response.redirect(to: next ?? "/desktops") : loggedInPage(messages, next: next)
            response.setCookie(auth.sessionCookie(token))
            response.setCookie(loginCookie("", maxAge: 0))
            return response
        case .factorPassed:
            var response = Response.redirect(to: next ?? "/desktops")
            response.setCookie(loginCookie("", maxAge: 0))
            return response
        case .challenge(let challenge):
            let token = LoginSessions.randomToken()
            let seconds = max(1, Int(challenge.expiresAt.timeIntervalSince(services.now()).rounded(.down)))
            let content = ChallengeContent(loginToken: token, challenge: challenge, next: next, expiresInSeconds: seconds)
            var response = renderer.response("login-challenge", PortalPage("Log in", login: nil, content: content))
            response.setCookie(loginCookie(token, maxAge: Self.loginFormSeconds))
            return response
        case .refused(let refusal):
            let failure = auth.failure(refusal)
            var message = Self.sentence(failure.body.error.message)
            if let field = failure.body.error.field { message = Self.sentence("\(field == "user" ? "user name" : field): \(message)") }
            var headers = HTTPFields()
            if let retry = failure.headers[.retryAfter] {
                headers[.retryAfter] = retry
                message += " Try again in \(retry) seconds."
            }
            return loginPage(status: failure.status, alert: message, user: user, next: next, headers: headers,
                             messages: refusal.messages.map(MessageLine.init))
        }
    }

    /// What the authentication stack said at a successful login ("your password expires in 3
    /// days"), with the way on.
    private func loggedInPage(_ messages: [AuthMessage], next: String?) -> Response {
        let content = LoginMessagesContent(messages: messages.map(MessageLine.init), next: next ?? "/desktops")
        return renderer.response("login-messages", PortalPage("Logged in", login: nil, content: content))
    }

    /// The login form, with a fresh login token in the form and its cookie.
    private func loginPage(status: HTTPResponse.Status = .ok, alert: String? = nil, user: String = "", next: String?,
                           headers: HTTPFields = [:], messages: [MessageLine] = []) -> Response {
        let token = LoginSessions.randomToken()
        let content = LoginContent(loginToken: token, next: next, user: String(user.prefix(64)), messages: messages)
        var response = renderer.response("login", PortalPage("Log in", login: nil, alert: alert, content: content), status: status,
                                         headers: headers)
        response.setCookie(loginCookie(token, maxAge: Self.loginFormSeconds))
        return response
    }

    private func loginCookie(_ value: String, maxAge: Int) -> Cookie {
        Cookie(name: Self.loginCookieName, value: value, maxAge: maxAge, path: "/login", secure: auth.configuration.tls != nil,
               httpOnly: true, sameSite: .strict)
    }

    // MARK: - Shared by the pages

    /// A page handler whose errors become an HTML page with the API's status and message.
    func html(_ handler: @escaping Handler) -> Handler {
        { request, context in
            do {
                return try await handler(request, context)
            } catch {
                return errorPage(failure(error, request: request, context: context), login: context.login)
            }
        }
    }

    /// A page for logged-in users: others are sent to log in (and come back here after).
    func userPage(_ handler: @escaping @Sendable (Request, DeskpoolRequestContext, LoginSession) async throws -> Response) -> Handler {
        html { request, context in
            guard let login = context.login else { return loginRedirect(request) }
            return try await handler(request, context, login)
        }
    }

    /// A change by a logged-in user: the form must carry the session's CSRF token.
    func userChange(_ handler: @escaping @Sendable (Request, DeskpoolRequestContext, LoginSession) async throws -> Response) -> Handler {
        userPage { request, context, login in
            guard await PortalForm.read(request, context: context).carries(csrf: login.csrf) else { return csrfRefused(login) }
            return try await handler(request, context, login)
        }
    }

    /// 303 to the login page; a GET comes back to its page after login.
    func loginRedirect(_ request: Request) -> Response {
        var location = "/login"
        let target = request.uri.path + (request.uri.query.map { "?\($0)" } ?? "")
        if request.method == .get, let next = PortalForm.safeNext(target),
           let encoded = next.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "/-._~"))) {
            location += "?next=\(encoded)"
        }
        return .redirect(to: location)
    }

    func csrfRefused(_ login: LoginSession) -> Response {
        errorPage(APIFailure.forbidden("This form has expired or did not come from this site. Reload the page and try again."), login: login)
    }

    /// An error page in the layout, with the failure's status and headers.
    func errorPage(_ failure: APIFailure, login: LoginSession?) -> Response {
        let heading = switch failure.status.code {
        case 400: "That request is not valid"
        case 401: "Please log in"
        case 403: "Not allowed"
        case 404: "Not found"
        case 409: "Not possible right now"
        case 429: "Too many attempts"
        default: failure.status.code >= 500 ? "Something went wrong" : "That did not work"
        }
        let back = login == nil ? ("/login", "Go to the login page") : ("/desktops", "Back to My desktops")
        let content = ErrorContent(heading: heading, status: failure.status.code, backLink: back.0, backText: back.1)
        var headers = HTTPFields()
        headers[.retryAfter] = failure.headers[.retryAfter]
        return renderer.response("error", PortalPage(heading, login: login, alert: Self.sentence(failure.body.error.message), content: content),
                                 status: failure.status, headers: headers)
    }

    /// Whatever a handler threw, as the API would answer it.
    func failure(_ error: any Error, request: Request, context: DeskpoolRequestContext) -> APIFailure {
        APIErrorMiddleware<DeskpoolRequestContext>.failure(error, path: request.uri.path, logger: context.logger)
    }

    /// A message as a sentence with a final full stop. Its first letter stays as it is: a
    /// message may start with a user or pool name, and names are case-sensitive.
    static func sentence(_ text: String) -> String {
        text.hasSuffix(".") || text.hasSuffix("?") || text.hasSuffix("!") || text.isEmpty ? text : text + "."
    }
}
