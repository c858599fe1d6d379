import Foundation
import RelayFuzz

/// `relaywatch-fuzz TARGET [libFuzzer options and corpus folders]`.
///
/// Built with `-sanitize=fuzzer,address -D RELAYWATCH_LIBFUZZER` (Tests/run-fuzzers does that in
/// its own build folder)
/// it is a libFuzzer binary: the target's name is taken off the arguments and the rest go to
/// libFuzzer. In a normal build libFuzzer is not linked in, and it runs each file named once
/// (a crasher kept as a regression test, say) and reports the first that fails.
@main
enum FuzzMain {
    static func main() {
        var args = CommandLine.arguments
        guard args.count >= 2, let target = FuzzTarget(rawValue: args[1]) else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: " ")
            FileHandle.standardError.write(Data("usage: relaywatch-fuzz TARGET [libFuzzer options] [CORPUS...]\ntargets: \(names)\n".utf8))
            exit(2)
        }
        args.remove(at: 1)
        Selected.target = target
        #if RELAYWATCH_LIBFUZZER
        exit(runLibFuzzer(args))
        #else
        for path in args.dropFirst() where !path.hasPrefix("-") {
            guard let data = FileManager.default.contents(atPath: path) else {
                FileHandle.standardError.write(Data("relaywatch-fuzz: cannot read \(path)\n".utf8))
                exit(2)
            }
            data.withUnsafeBytes { target.run($0) }
        }
        #endif
    }

    #if RELAYWATCH_LIBFUZZER
    static func runLibFuzzer(_ args: [String]) -> CInt {
        var argc = CInt(args.count)
        let strings = args.map { strdup($0) } + [nil]
        let argv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count)
        argv.initialize(from: strings, count: strings.count)
        var argvp: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
        return LLVMFuzzerRunDriver(&argc, &argvp) { data, size in
            LLVMFuzzerTestOneInput(data, size)
        }
    }
    #endif
}

#if RELAYWATCH_LIBFUZZER
/// libFuzzer's driver, linked in by -sanitize=fuzzer (Tests/run-fuzzers also defines
/// RELAYWATCH_LIBFUZZER): it parses libFuzzer's options and calls back for every input.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt
#endif

/// The target chosen on the command line (set once, before libFuzzer starts calling in).
enum Selected {
    nonisolated(unsafe) static var target = FuzzTarget.deliveryLog
}

/// libFuzzer's entry point. Its own `main` (linked in by -sanitize=fuzzer) needs this symbol; the
/// program's `main` above is the one that runs and hands libFuzzer the same function.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Selected.target.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
