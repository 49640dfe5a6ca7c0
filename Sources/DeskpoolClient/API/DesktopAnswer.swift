public import DeskpoolCore

/// The answer to a desktop request (`POST /api/v1/pools/{pool}/desktop`).
public enum DesktopAnswer: Sendable, Hashable {
    /// 200: the `.vv` file for remote-viewer (it holds a one-time console password) and the
    /// desktop's id (header `Deskpool-Desktop`).
    case file(vv: String, desktopID: String)
    /// 202: a desktop is being prepared; ask `answer.poll` again, after `retryAfterSeconds`
    /// (the `Retry-After` header) when the broker sent it.
    case preparing(PreparingAnswer, retryAfterSeconds: Int?)
}
