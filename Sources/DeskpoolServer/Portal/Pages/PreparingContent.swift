import DeskpoolCore
import Foundation

struct PreparingContent {
    var poolName: String
    var desktopName: String
    var estimateSeconds: Int
    var retryAfter: Int
}
