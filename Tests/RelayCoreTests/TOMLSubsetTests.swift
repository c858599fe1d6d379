import Testing
import RelayCore

@Suite struct TOMLSubsetTests {
    @Test func readsTheSubsetThemesUse() throws {
        let text = "# comment\r\nname = \"a \\\"quoted\\\" \\u00e9\" # trailing\nmono = false\n[roles]\n'lit.key' = { fg = 1_0, bold = true }\n\"x.y\" = {}\n"
        let doc = try TOMLSubset.parse(text)
        #expect(doc.map(\.0) == ["name", "mono", "roles"])
        #expect(doc[0].1 == .string("a \"quoted\" é"))
        #expect(doc[1].1 == .boolean(false))
        #expect(doc[2].1 == .table([("lit.key", .table([("fg", .integer(10)), ("bold", .boolean(true))])), ("x.y", .table([]))]))
    }

    @Test func readsOneLineArrays() throws {
        let doc = try TOMLSubset.parse("nets = [\"127.0.0.0/8\", '::1' ]\nbackoff = [60,300, 900,]\nnone = []\n")
        #expect(doc[0].1 == .array([.string("127.0.0.0/8"), .string("::1")]))
        #expect(doc[1].1 == .array([.integer(60), .integer(300), .integer(900)]))
        #expect(doc[2].1 == .array([]))
    }

    @Test(arguments: [
        ("a = ", 1, "expected a value"),
        ("a = 1.5", 1, "decimal numbers are not supported"),
        ("\n[roles\n", 2, "expected ] to close the table name"),
        ("a = { b = 1", 1, "an inline table must close with } on the same line"),
        ("a = \"open", 1, "unterminated string"),
        ("a = yes", 1, "expected true, false, a number, a string, [ ... ] or { ... }"),
        ("a = { b = 1, b = 2 }", 1, "b is given twice"),
        ("= 3", 1, "expected a key"),
        ("a = [1, 2", 1, "an array must close with ] on the same line"),
        ("a = [1 2]", 1, "expected , or ] in the array"),
        ("[[routes]]", 1, "arrays of tables ([[...]]) are not supported"),
    ])
    func mistakesNameTheirLine(_ text: String, _ line: Int, _ message: String) {
        do {
            _ = try TOMLSubset.parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error == TOMLSubset.ParseError(line: line, message: message))
        }
    }
}
