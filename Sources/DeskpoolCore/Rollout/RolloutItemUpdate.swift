/// One item's change in `Store.updateRolloutItems`, with the change to its desktop's record
/// that goes with it (in the same transaction: the record says old or new, as the item does).
public struct RolloutItemUpdate: Sendable {
    public var desktopID: String
    /// The statuses the item may be in for its change to be made.
    public var from: Set<RolloutItem.Status>
    /// What happens to the desktop's record, as `Store.transition` applies it (whatever the
    /// item's status).
    public var desktop: DesktopEvent?
    /// The item's change; it sees the desktop's record after `desktop` changed it (nil without
    /// a desktop change, or when it was not made).
    public var change: @Sendable (inout RolloutItem, Desktop?) -> Void

    public init(desktopID: String, from: Set<RolloutItem.Status>, desktop: DesktopEvent? = nil,
                change: @escaping @Sendable (inout RolloutItem, Desktop?) -> Void) {
        self.desktopID = desktopID
        self.from = from
        self.desktop = desktop
        self.change = change
    }
}
