import DeskpoolTesting
import Testing

@Suite("Reading a desktop's name by OCR")
struct GuestConsoleTests {
    @Test("OCR slips of a letter or two pass; another desktop's counter or another name does not", arguments: [
        ("meadou-falcon-spare-2", "meadow-falcon-spare-2", true),
        ("violet-violet-pe-1", "violet-violet-pc-1", true),
        ("cedar-marble-f11", "cedar-marble-fl1", true),
        ("lantern-copper-spare-Z", "lantern-copper-spare-2", true),
        ("lantern-copper-spare-Z", "lantern-copper-spare-1", false),
        ("meadow-falcon-spare-1", "meadow-falcon-spare-2", false),
        ("kestrel-copper-spare-2", "meadow-falcon-spare-2", false),
        ("", "meadow-falcon-spare-2", false),
    ])
    func nearlyEqual(read: String, expected: String, same: Bool) {
        #expect(GuestConsole.nearlyEqual(read, expected) == same)
    }
}
