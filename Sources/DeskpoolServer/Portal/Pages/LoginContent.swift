import DeskpoolCore
import Foundation

struct LoginContent {
    var loginToken: String
    var next: String?
    var user: String
}
