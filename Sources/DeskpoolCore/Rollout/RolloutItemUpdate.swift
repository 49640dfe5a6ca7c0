/// One item's change in `Store.updateRolloutItems`, with the change to its desktop's record
/// that goes with it (in the same transaction: the record says old or new, as the item does).
public struct RolloutItemUpdate: Sendable {
    /// A change to the desktop's record, made if the desktop is in one of `from` (as
    /// `Store.transition` makes it), whatever the item's status.
    public struct DesktopChange: Sendable {
        public var from: Set<DesktopState>
        public var change: @Sendable (inout Desktop) -> Void

        public init(from: Set<DesktopState>, change: @escaping @Sendable (inout Desktop) -> Void) {
            self.from = from
            self.change = change
        }
    }

    public var desktopID: String
    /// The statuses the item may be in for its change to be made.
    public var from: Set<RolloutItem.Status>
    public var desktop: DesktopChange?
    /// The item's change; it sees the desktop's record after `desktop` changed it (nil without
    /// a desktop change, or when it was not made).
    public var change: @Sendable (inout RolloutItem, Desktop?) -> Void

    public init(desktopID: String, from: Set<RolloutItem.Status>, desktop: DesktopChange? = nil,
                change: @escaping @Sendable (inout RolloutItem, Desktop?) -> Void) {
        self.desktopID = desktopID
        self.from = from
        self.desktop = desktop
        self.change = change
    }
}
