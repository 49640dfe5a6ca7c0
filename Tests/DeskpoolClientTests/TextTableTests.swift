import DeskpoolClient
import Testing

@Suite struct TextTableTests {
    @Test func alignsColumnsAndRightAlignsNumbers() {
        var table = TextTable([.init("NAME"), .init("READY", .right), .init("STATUS")])
        table.append("tiny", "2", "active")
        table.append("engineering", "12", "draining")
        #expect(table.render() == """
            NAME         READY  STATUS
            tiny             2  active
            engineering     12  draining

            """)
    }

    @Test func noTrailingSpacesAndEmptyLastCells() {
        var table = TextTable("A", "B")
        table.append("x")
        table.append("longer", "")
        #expect(table.render() == "A       B\nx\nlonger\n")
        #expect(!table.render().split(separator: "\n").contains { $0.hasSuffix(" ") })
    }

    @Test func headerOnlyWhenEmpty() {
        #expect(TextTable("NAME", "STATE").render() == "NAME  STATE\n")
    }

    @Test func cellsStayOnOneLineAndExtraCellsAreDropped() {
        var table = TextTable("NAME", "REASON")
        table.append(["d1", "guest did not\nbecome ready\tat all", "extra"])
        #expect(table.render() == "NAME  REASON\nd1    guest did not become ready at all\n")
    }

    @Test func countsCharactersNotBytes() {
        var table = TextTable("USER", "X")
        table.append("zoë", "1")
        table.append("al", "2")
        #expect(table.render() == "USER  X\nzoë   1\nal    2\n")
    }
}
