import ArgumentParser
import CrucibleAPI
import CrucibleClient
import CrucibleCore
import Foundation

extension JobCommand {
    /// The requester's side of render review: look at watermarked previews, then approve or reject frames.
    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve or reject frames of a render job with review.",
            discussion: """
            Tasks are numbered from 0 (task i renders the job's first frame + i). A rejected frame is rendered again on \
            another operator's node and compared with it: alike, the rejected run is paid after all; not alike, it is \
            unpaid and its operator slashed. Frames nobody answers for are approved when their review period ends.
            """
        )

        @Argument var id: String
        @Option(help: "Tasks whose frames are approved, e.g. 0,1,4.")
        var approve: String?
        @Option(help: "TASK:REASON, a frame rejected and why (repeatable), e.g. --reject '2:the camera moved'.")
        var reject: [String] = []
        @Option(help: "Requester wallet key.")
        var key: String = ".crucible/wallet.key"
        @OptionGroup var client: ClientOptions

        func run() async throws {
            var approved = [Int]()
            for part in (approve ?? "").split(separator: ",") {
                guard let index = Int(part.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("--approve takes task numbers separated by commas, e.g. 0,1,4")
                }
                approved.append(index)
            }
            let rejected = try reject.map { entry -> FrameReview.Rejection in
                let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
                guard parts.count == 2, let index = Int(parts[0]), !parts[1].isEmpty else {
                    throw ValidationError("--reject takes TASK:REASON, e.g. --reject '2:the camera moved'")
                }
                return FrameReview.Rejection(taskIndex: index, reason: parts[1])
            }
            guard !approved.isEmpty || !rejected.isEmpty else { throw ValidationError("give --approve, --reject or both") }
            let job = try await client.client().reviewFrames(FrameReview(jobId: id, approve: approved, reject: rejected), by: try KeyFile.read(key))
            for task in job.tasks {
                guard let review = task.review else { continue }
                print("task \(task.index): \(review.state.rawValue)" + (review.rejections.isEmpty ? "" : ", rejected: \(review.rejections.map(\.reason).joined(separator: "; "))"))
            }
        }
    }

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Save the watermarked preview of a render task's frame.")

        @Argument var id: String
        @Argument(help: "The task (0 is the job's first frame).") var task: Int
        @Option(help: "Where to write the PNG.")
        var out: String = "preview.png"
        @OptionGroup var client: ClientOptions

        func run() async throws {
            let preview = try await client.client().framePreview(jobId: id, taskIndex: task)
            guard FileManager.default.createFile(atPath: out, contents: preview) else { throw ValidationError("cannot write \(out)") }
            print("wrote \(out) (\(preview.count) bytes)")
        }
    }
}
