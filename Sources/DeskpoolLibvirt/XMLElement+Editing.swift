import FoundationXML

/// Small edits of a parsed libvirt XML document, used to turn a template's domain XML into a
/// desktop's.
extension XMLElement {
    /// Child elements named `name`, in document order.
    func children(named name: String) -> [XMLElement] {
        (children ?? []).compactMap { $0 as? XMLElement }.filter { $0.name == name }
    }

    func child(named name: String) -> XMLElement? { children(named: name).first }

    /// Appends `child` and returns it.
    @discardableResult
    func appending(_ child: XMLElement) -> XMLElement {
        addChild(child)
        return child
    }

    /// Puts `element` where the first child of the same name is (or at the end), removing
    /// every other child of that name.
    func replaceChild(_ element: XMLElement) {
        let existing = children(named: element.name ?? "")
        if let first = existing.first {
            replaceChild(at: first.index, with: element)
            existing.dropFirst().forEach { $0.detach() }
        } else {
            addChild(element)
        }
    }

    /// Inserts `child` first. (swift-corelibs-foundation's `insertChild(_:at: 0)` traps on
    /// an element without children.)
    func prepend(_ child: XMLElement) {
        if childCount == 0 { addChild(child) } else { insertChild(child, at: 0) }
    }

    func removeChildren(named name: String) {
        children(named: name).forEach { $0.detach() }
    }

    /// Sets an attribute, replacing one of the same name.
    func setAttribute(_ name: String, _ value: String) {
        removeAttribute(forName: name)
        addAttribute(LibvirtXML.attribute(name, value))
    }
}
