import DeskpoolTesting
import DeskpoolTestRigs
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

@Suite("OCR text matching")
struct ScreenOCRMatchingTests {
    @Test("a message is found despite tesseract's slips, but not another message")
    func lines() {
        let screen = "DESKPOOL-GUEST agent=started\nbeskpool notice: session ends soon meadow\n"
        #expect(ScreenOCR.line(of: screen, shows: "Deskpool notice: session ends soon meadow"))
        #expect(ScreenOCR.line(of: "Desk pool notice:session ends soon meadow", shows: "Deskpool notice: session ends soon meadow"))
        #expect(!ScreenOCR.line(of: screen, shows: "Deskpool notice: session ends soon copper"))
        #expect(!ScreenOCR.line(of: screen, shows: "Deskpool notice: session ends soon lantern"))
        // Glyphs tesseract confuses on a scaled console font, as read in CI.
        #expect(ScreenOCR.line(of: "DESKPOOL-GUEST name=dpeZe-54f 5cOd?-pO01", shows: "DESKPOOL-GUEST name=dpe2e-54f5c0d7-p01"))
        #expect(!ScreenOCR.line(of: "DESKPOOL-GUEST name=dpeZe-54f 5cOd?-pO01", shows: "DESKPOOL-GUEST name=lab-a91c77e3-x42"))
        #expect(ScreenOCR.approximateDistance(of: Array("abc"), in: Array("xxabcxx")) == 0)
        #expect(ScreenOCR.approximateDistance(of: Array("abc"), in: Array("xxabxx")) == 1)
    }

    @Test("the name line is found with its '=' read as '-' (as CI once read it), not without its marker")
    func nameLine() {
        #expect(GuestConsole.shows(name: "kestrel-pepper-desk-1", on: "SYSLINUX 6.04\nDESKPOOL-GUEST name=kestrel-pepper-desk-1\n"))
        #expect(GuestConsole.shows(name: "kestrel-pepper-desk-1", on: "SYSLINUX 6.04\nDESKPOOL-GUEST name-kestrel-pepper-desk-1\n"))
        #expect(!GuestConsole.shows(name: "kestrel-pepper-desk-1", on: "DESKPOOL-GUEST kestrel-pepper-desk-1\n"))
        #expect(!GuestConsole.shows(name: "kestrel-pepper-desk-1", on: "DESKPOOL-GUEST name=kestrel-pepper-desk-2\n"))
    }
}
