import CrucibleCore
import Foundation
import Testing

@Suite struct KeyFileTests {
    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("crucible-key-\(UUID().uuidString)/wallet.key").path
    }

    @Test func keyRoundTripsWithOwnerOnlyPermissions() throws {
        let path = temporaryPath()
        let identity = SigningIdentity()
        try KeyFile.write(identity, to: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try KeyFile.read(path).address == identity.address)
    }

    @Test func keyReadableByOthersIsRefused() throws {
        let path = temporaryPath()
        try KeyFile.write(SigningIdentity(), to: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        do {
            _ = try KeyFile.read(path)
            Issue.record("a world-readable key was accepted")
        } catch let error as CrucibleError {
            #expect(error.code == .keyFile)
            #expect(error.message.contains("chmod 600"))
        }
    }

    @Test func existingKeyIsNeverOverwritten() throws {
        let path = temporaryPath()
        let first = SigningIdentity()
        try KeyFile.write(first, to: path)
        #expect(throws: CrucibleError.self) { try KeyFile.write(SigningIdentity(), to: path) }
        #expect(try KeyFile.read(path).address == first.address)
        #expect(try KeyFile.readOrCreate(path).address == first.address)
    }

    @Test func missingOrCorruptKeyFileGivesClearError() throws {
        let path = temporaryPath()
        #expect(throws: CrucibleError.self) { try KeyFile.read(path) }
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data("not a key".utf8), attributes: [.posixPermissions: 0o600])
        do {
            _ = try KeyFile.read(path)
            Issue.record("a corrupt key file was accepted")
        } catch let error as CrucibleError {
            #expect(error.message.contains("not a Crucible key file"))
        }
    }
}
