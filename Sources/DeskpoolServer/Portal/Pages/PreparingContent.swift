import DeskpoolCore
import Foundation

/// A page that posts its form again after `retryAfter` seconds (by script, or the user's
/// button): "preparing your desktop", and the kiosk's start.
struct PreparingContent {
    var poolName: String
    /// Where the form posts: the pool's Connect, Open in browser, or kiosk request.
    var action: String
    var heading: String
    var message: String
    var retryAfter: Int
    /// What happens when the desktop is ready: the console page (else a `.vv` download).
    var browser = true
}

/// The browser console page: what its script needs to open the desktop's display.
struct ConsoleContent {
    var poolName: String
    var desktopName: String
    /// Empty: the page's own host name.
    var relayHost: String
    var relayPort: Int
    var token: String
    var displayPort: Int
    var password: String
    /// Full window, no navigation, back to the kiosk's login when the console ends.
    var kiosk: Bool
    var fullscreen: Bool
}
