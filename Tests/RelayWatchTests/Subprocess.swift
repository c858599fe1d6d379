import Foundation
import TestSupport

/// Runs the real `relaywatch` binary the way a user (or cron) would, and captures what it says.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String

    /// The binary SwiftPM built beside this test bundle.
    static var relaywatch: URL { URL(fileURLWithPath: Built.binary("relaywatch")) }

    static func relaywatch(_ args: [String], stdin: Data? = nil) throws -> Run {
        let p = Process()
        p.executableURL = relaywatch
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        let input = Pipe()
        p.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try p.run()
        if let stdin {
            // Feed stdin from another thread so a large input cannot deadlock against full pipes.
            let writer = input.fileHandleForWriting
            Thread.detachNewThread {
                writer.write(stdin)
                try? writer.close()
            }
        }
        // Read both pipes concurrently for the same reason.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                   stderr: String(decoding: errData, as: UTF8.self))
    }
}
