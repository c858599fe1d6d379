import Foundation
import Testing
@testable import RelayCore
import RelayScenarios

/// The structural fast path must read every line it takes exactly as the byte-level reader does
/// (same fields, same null and bad bits, same verdict), and leave every other line to it.
@Suite struct StructuralReaderTests {
    /// Everything the store reads from a raw event, as text (the scanner aside).
    static func fingerprint(_ raw: RawEvent) -> String {
        Mirror(reflecting: raw).children.filter { $0.label != "scanner" }.map { "\($0.label ?? "?")=\($0.value)" }.joined(separator: " ")
    }

    /// Reads `line` both ways; returns whether the fast path took it.
    @discardableResult
    static func bothReadersAgree(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        var line = text
        return line.withUTF8 { p in
            let bytes = UnsafeRawBufferPointer(p)
            var fast = RawEvent(JSONScanner(bytes)), slow = RawEvent(JSONScanner(bytes))
            let a = LogDecoder.scan(bytes, into: &fast, structural: true)
            let b = LogDecoder.scan(bytes, into: &slow, structural: false)
            #expect("\(a)" == "\(b)", "\(text)", sourceLocation: sourceLocation)
            #expect(fingerprint(fast) == fingerprint(slow), "\(text)", sourceLocation: sourceLocation)
            var probe = RawEvent(JSONScanner(bytes))
            return probe.readStructural(bytes)
        }
    }

    static let ts = "\"ts\":\"2026-11-29T08:00:00.000000Z\""

    /// Odd lines: each either taken with the same result or refused.
    static let oddLines: [String] = [
        "", "   ", "{}", "{", "}", "[]", "null", "{\"v\":1}", "{\"v\":1,}", "{,\"v\":1}", "{\"v\":1}}", "{\"v\":1} ",
        " {\"v\":1,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":1,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\" : 1,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":01,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":1.0,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":-1,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":-0,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":1e0,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":12345678901234567890,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":\"1\",\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":null,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":true,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":nul,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":1,\"ts\":\"2026-11-29T08:00:00Z\",\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":1,\"ts\":\"2026-11-29T08:00:00.000000+01:00\",\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":1,\"ts\":\"yesterday\",\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":1,\"ts\":1,\"event\":\"done\",\"msg\":\"M\"}",
        "{\"v\":1,\(ts),\"event\":\"later\",\"msg\":\"M\"}",
        "{\"v\":1,\(ts),\"event\":\"done\",\"msg\":\"M\",\"unknown\":[1,{\"a\":2}]}",
        "{\"v\":1,\(ts),\"event\":\"done\",\"msg\":\"M\",\"msg\":\"N\"}",
        "{\"v\":1,\(ts),\"event\":\"done\",\"msg\":\"M\\u0041\"}",
        "{\"v\":1,\(ts),\"event\":\"done\",\"msg\":\"jos\u{E9}\"}",
        "{\"v\":1,\(ts),\"event\":\"done\",\"msg\":\"a\tb\"}",
        "{\"v\":1,\(ts),\"event\":\"done\",\"msg\":\"a,b:c{d}[e]\"}",
        "{\"v\":1,\(ts),\"event\":\"done\",\"msg\":\"unterminated}",
        "{\"v\":1,\(ts),\"event\":\"queued\",\"msg\":\"M\",\"from\":\"\",\"rcpts\":[],\"size\":0}",
        "{\"v\":1,\(ts),\"event\":\"queued\",\"msg\":\"M\",\"from\":\"a@x\",\"rcpts\":[\"b@x\",\"c@x\"],\"size\":10,\"message_id\":null}",
        "{\"v\":1,\(ts),\"event\":\"queued\",\"msg\":\"M\",\"from\":\"a@x\",\"rcpts\":[\"b@x\",1],\"size\":10}",
        "{\"v\":1,\(ts),\"event\":\"queued\",\"msg\":\"M\",\"from\":\"a@x\",\"rcpts\":[\"b@x\",],\"size\":10}",
        "{\"v\":1,\(ts),\"event\":\"queued\",\"msg\":\"M\",\"from\":\"a@x\",\"rcpts\":[[\"b@x\"]],\"size\":10}",
        "{\"v\":1,\(ts),\"event\":\"queued\",\"msg\":\"M\",\"from\":\"a@x\",\"rcpts\":\"b@x\",\"size\":-1}",
        "{\"v\":1,\(ts),\"event\":\"session\",\"session\":\"s1\",\"peer\":\"h:25\",\"ehlo\":[\"PIPELINING\"]}",
        "{\"v\":1,\(ts),\"event\":\"txn\",\"msg\":\"M\",\"txn\":\"t1\",\"session\":\"s1\",\"attempt\":1,\"pipelined\":true,\"rcpts\":[\"b@x\"]}",
        "{\"v\":1,\(ts),\"event\":\"txn\",\"msg\":\"M\",\"txn\":\"t1\",\"session\":\"s1\",\"attempt\":1,\"pipelined\":\"yes\",\"rcpts\":[\"b@x\"]}",
        "{\"v\":1,\(ts),\"event\":\"reply\",\"msg\":\"M\",\"txn\":\"t1\",\"cmd\":\"RCPT\",\"index\":0,\"rcpt\":\"b@x\",\"code\":452,\"enhanced\":\"4.5.3\",\"text\":\"Too many\"}",
        "{\"v\":1,\(ts),\"event\":\"reply\",\"msg\":\"M\",\"txn\":\"t1\",\"cmd\":\"XFOO\",\"code\":1000,\"enhanced\":\"bogus\",\"text\":\"\"}",
        "{\"v\":1,\(ts),\"event\":\"tally\",\"msg\":\"M\",\"txn\":\"t1\",\"accepted\":1,\"deferred\":-2,\"bounced\":0}",
        "{\"v\":1,\(ts),\"event\":\"outcome\",\"msg\":\"M\",\"rcpt\":\"b@x\",\"status\":\"deferred\",\"reason\":\"r\",\"retry_at\":\"2026-11-29T09:00:00Z\"}",
        "{\"v\":1,\(ts),\"event\":\"outcome\",\"msg\":\"M\",\"rcpt\":\"b@x\",\"status\":\"lost\",\"retry_at\":\"soon\"}",
        "{\"v\":1,\(ts),\"event\":\"ndr\",\"msg\":\"M\",\"ndr_msg\":\"N\",\"rcpts\":[\"b@x\"],\"diagnostics\":{\"b@x\":\"smtp; 552\"}}",
        "{\"v\":1,\(ts),\"event\":\"ndr\",\"msg\":\"M\",\"rcpts\":[\"b@x\"],\"diagnostics\":{}}",
        "{\"v\":1,\(ts),\"event\":\"ndr\",\"msg\":\"M\",\"rcpts\":[\"b@x\"],\"diagnostics\":{\"b@x\":1}}",
        "{\"v\":1,\(ts),\"event\":\"ndr\",\"msg\":\"M\",\"rcpts\":[\"b@x\"],\"diagnostics\":{\"b@x\"}}",
        "{\"v\":1,\(ts),\"event\":\"retry\",\"msg\":\"M\",\"rcpts\":null,\"source\":\"admin\"}",
        "{\"v\":1,\(ts),\"event\":\"hold\",\"msg\":\"M\"}",
        "{\"v\":2,\(ts),\"event\":\"hold\",\"msg\":\"M\"}",
        "{\"v\":1,\(ts),\"event\":\"hold\"}",
        "{\"v\":1,\(ts),\"event\":\"hold\",\"msg\":\"M\"}x",
        "{\"v\":1,\(ts),\"event\":\"hold\",\"msg\":\"M\"\"x\":1}",
        "{\"v\":1,\(ts),\"event\":\"hold\",\"msg\"\"M\"}",
        "{\"v\":1,\(ts),\"event\":\"hold\",\"msg\":\"M\":1}",
        "{\"v\":1,\(ts),\"event\":\"hold\",\"msg\":}",
        "{\"v\":1,\(ts),\"event\":\"hold\",\"msg\":\"M\",\"\":1}",
    ]

    @Test func oddLinesReadAlikeByBothReaders() {
        var taken = 0
        for line in Self.oddLines where Self.bothReadersAgree(line) { taken += 1 }
        // The writer's form is taken; the test would prove nothing if the fast path took none.
        #expect(taken >= 20)
    }

    @Test func everyScenarioAndCorpusLineReadsAlike() throws {
        var lines = Scenario.all.flatMap { $0.log.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("FuzzRegressionTests/corpus/delivery-log")
        for file in try FileManager.default.contentsOfDirectory(atPath: corpus.path) {
            let data = try Data(contentsOf: corpus.appendingPathComponent(file))
            lines += String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        var taken = 0
        for line in lines where Self.bothReadersAgree(line) { taken += 1 }
        #expect(taken * 10 >= lines.count * 9, "\(taken) of \(lines.count) taken")
    }

    /// One line of each shape the writer gives an event, optional fields included.
    static let writerLines: [String] = [
        "{\"v\":1,\(ts),\"event\":\"queued\",\"msg\":\"M\",\"from\":\"a@x\",\"rcpts\":[\"b@x\",\"c@x\"],\"size\":10,\"message_id\":\"<i@x>\"}",
        "{\"v\":1,\(ts),\"event\":\"session\",\"session\":\"S1\",\"peer\":\"192.0.2.8:25\",\"ehlo\":[\"PIPELINING\",\"SIZE 10\"]}",
        "{\"v\":1,\(ts),\"event\":\"txn\",\"msg\":\"M\",\"txn\":\"T1\",\"session\":\"S1\",\"attempt\":2,\"pipelined\":false,\"rcpts\":[\"b@x\"]}",
        "{\"v\":1,\(ts),\"event\":\"reply\",\"msg\":\"M\",\"txn\":\"T1\",\"cmd\":\"RCPT\",\"index\":0,\"rcpt\":\"b@x\",\"code\":552,\"enhanced\":\"5.5.3\",\"text\":\"Too many recipients\"}",
        "{\"v\":1,\(ts),\"event\":\"reply\",\"msg\":\"M\",\"txn\":\"T1\",\"cmd\":\"DATA\",\"code\":354,\"enhanced\":null,\"text\":\"Go ahead\"}",
        "{\"v\":1,\(ts),\"event\":\"tally\",\"msg\":\"M\",\"txn\":\"T1\",\"accepted\":1,\"deferred\":0,\"bounced\":12}",
        "{\"v\":1,\(ts),\"event\":\"outcome\",\"msg\":\"M\",\"rcpt\":\"b@x\",\"status\":\"deferred\",\"txn\":\"T1\",\"reason\":\"452 4.5.3 Too many\",\"retry_at\":\"2026-11-29T09:00:00.000000Z\",\"cmd\":\"RCPT\",\"code\":452,\"enhanced\":\"4.5.3\",\"text\":\"Too many\",\"peer\":\"192.0.2.8:25\"}",
        "{\"v\":1,\(ts),\"event\":\"outcome\",\"msg\":\"M\",\"rcpt\":\"b@x\",\"status\":\"bounced\",\"txn\":null,\"reason\":\"no route\"}",
        "{\"v\":1,\(ts),\"event\":\"ndr\",\"msg\":\"M\",\"ndr_msg\":\"N\",\"rcpts\":[\"b@x\"],\"diagnostics\":{\"b@x\":\"smtp; 552 5.5.3 Too many\"}}",
        "{\"v\":1,\(ts),\"event\":\"ndr\",\"msg\":\"M\",\"ndr_msg\":null,\"rcpts\":[\"b@x\"]}",
        "{\"v\":1,\(ts),\"event\":\"retry\",\"msg\":\"M\",\"rcpts\":[\"b@x\"],\"source\":\"admin\"}",
        "{\"v\":1,\(ts),\"event\":\"retry\",\"msg\":\"M\",\"rcpts\":null,\"source\":\"admin\"}",
        "{\"v\":1,\(ts),\"event\":\"done\",\"msg\":\"M\"}",
    ]

    /// A writer-form line's top-level members (`"key":value`), split at commas outside strings
    /// and brackets.
    static func members(_ line: String) -> [String] {
        var out: [String] = [], current = "", depth = 0, inString = false
        for ch in line.dropFirst().dropLast() {
            if inString {
                if ch == "\"" { inString = false }
            } else if ch == "\"" {
                inString = true
            } else if ch == "[" || ch == "{" {
                depth += 1
            } else if ch == "]" || ch == "}" {
                depth -= 1
            } else if ch == ",", depth == 0 {
                out.append(current)
                current = ""
                continue
            }
            current.append(ch)
        }
        out.append(current)
        return out
    }

    /// The writer's own order is read by a path of its own (each key expected in turn), which
    /// hands the line to the general walk at the first thing it does not take. Every line one
    /// change away from the writer's form, at every place, must read as the byte-level reader
    /// reads it: a value of another type or out of range, a null, a field dropped, two swapped, an
    /// unknown one put in, a key repeated.
    @Test func writerOrderLinesWithOneThingChangedReadAlike() {
        let values = ["null", "-1", "0", "07", "1000", "99", "true", "false", "\"x\"", "\"\"", "[]", "{}", "[\"a\"]",
                      "{\"a\":\"b\"}", "\"2026-11-29T09:00:00Z\"", "\"RCPT\"", "\"delivered\"", "\"2.1.5\"", "1.5",
                      "123456789012345678", "1234567890123456789"]
        var variants: [String] = []
        for line in Self.writerLines {
            let m = Self.members(line)
            func join(_ parts: [String]) -> String { "{" + parts.joined(separator: ",") + "}" }
            variants.append(line)
            for k in m.indices {
                let key = String(m[k].prefix { $0 != ":" })
                for v in values {
                    var c = m
                    c[k] = key + ":" + v
                    variants.append(join(c))
                }
                var dropped = m
                dropped.remove(at: k)
                variants.append(join(dropped))
                if k + 1 < m.count {
                    var swapped = m
                    swapped.swapAt(k, k + 1)
                    variants.append(join(swapped))
                }
                var extra = m
                extra.insert("\"extra\":[1,2]", at: k)
                variants.append(join(extra))
                var twice = m
                twice.insert(m[k], at: k)
                variants.append(join(twice))
            }
        }
        var taken = 0
        for line in variants where Self.bothReadersAgree(line) { taken += 1 }
        #expect(taken * 2 >= variants.count, "\(taken) of \(variants.count) taken")
    }

    /// Stage one reads a line's last partial vector in place when that cannot cross into another
    /// page, so it sees bytes past the line's end. Lines of every length mod 32, placed to end
    /// at each distance from a page's end, with a backslash, a quote and non-ASCII bytes right
    /// after them: each is taken (those bytes are not the line's) and reads as the byte-level
    /// reader reads it; one ending on the page's last byte is read without touching the next.
    @Test func bytesPastTheLineEndDoNotCount() throws {
        let page = 4096
        let raw = try #require(UnsafeMutableRawPointer(bitPattern: Int(bitPattern: valloc(2 * page))))
        defer { free(raw) }
        // The second page made unreadable, so a load across into it would crash the test.
        #expect(mprotect(raw + page, page, PROT_NONE) == 0)
        defer { _ = mprotect(raw + page, page, PROT_READ | PROT_WRITE) }
        var placed = 0
        for extra in 0..<32 {
            let line = "{\"v\":1,\(Self.ts),\"event\":\"done\",\"msg\":\"M\(String(repeating: "x", count: extra))\"}"
            let bytes = Array(line.utf8)
            for gap in 0...40 where bytes.count + gap <= page {
                let start = raw + page - gap - bytes.count
                memset(raw, 0x41, page)
                bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                let after: [UInt8] = [0x5C, 0x22, 0xFF, 0x01, 0x22]
                for k in 0..<min(gap, after.count) { (start + bytes.count + k).storeBytes(of: after[k], as: UInt8.self) }
                let view = UnsafeRawBufferPointer(start: start, count: bytes.count)
                var fast = RawEvent(JSONScanner(view)), slow = RawEvent(JSONScanner(view))
                let a = LogDecoder.scan(view, into: &fast, structural: true)
                let b = LogDecoder.scan(view, into: &slow, structural: false)
                #expect("\(a)" == "\(b)" && Self.fingerprint(fast) == Self.fingerprint(slow), "\(line) \(gap)")
                var probe = RawEvent(JSONScanner(view))
                let taken = probe.readStructural(view)
                #expect(taken, "refused: \(line) with \(gap) bytes after it in the page")
                placed += 1
            }
        }
        #expect(placed == 32 * 41)
    }

    @Test func generatedTrafficReadsAlikeAndNearlyAllOnTheFastPath() {
        var generator = LoadGenerator(seed: 3)
        var bytes: [UInt8] = []
        generator.generate(events: 40_000, into: &bytes) { _ in }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        var taken = 0
        for line in lines where Self.bothReadersAgree(line) { taken += 1 }
        #expect(taken * 100 >= lines.count * 95, "\(taken) of \(lines.count) taken")
    }
}
