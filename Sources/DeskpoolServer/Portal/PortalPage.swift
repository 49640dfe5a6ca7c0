import DeskpoolCore
import Foundation

// What the templates render. Mustache looks a name up through the enclosing objects when the
// current one lacks it (or holds nil), so row types use names of their own (`poolName`,
// `desktopName`, `holder`) and never shadow the page's (`viewer`, `csrfToken`).

/// One portal page: what the layout needs, and the page's own `content`.
struct PortalPage<Content> {
    var pageTitle: String
    var viewer: PortalViewer?
    /// The login session's CSRF token, for every form that changes something.
    var csrfToken: String
    var alertMessage: String?
    var onDesktops = false
    var onAdmin = false
    var adminTabs: AdminTabs?
    var assetVersion = ""
    var content: Content

    init(_ title: String, login: LoginSession?, alert: String? = nil, content: Content) {
        pageTitle = title
        viewer = login.map { PortalViewer(name: $0.user, admin: $0.admin) }
        csrfToken = login?.csrf ?? ""
        alertMessage = alert
        self.content = content
    }
}

/// Who is logged in, for the header.
struct PortalViewer {
    var name: String
    var admin: Bool
}

/// Which tab of the admin navigation is current.
struct AdminTabs {
    var pools = false
    var hosts = false
    var templates = false
    var audit = false
    var rollouts = false
    var policies = false
}

/// A time, for `<time datetime>` and for people.
struct Stamp {
    var iso: String
    var text: String

    init(_ date: Date) {
        iso = date.formatted(.iso8601)
        text = iso.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")
    }
}
