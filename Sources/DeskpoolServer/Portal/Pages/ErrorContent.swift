import DeskpoolCore
import Foundation

struct ErrorContent {
    var heading: String
    var status: Int
    var backLink: String
    var backText: String
}
