import CrucibleCore
import CrucibleProof
import CrucibleStore
import Foundation

extension Coordinator {
    /// The tile comparisons a render validator's (or arbiter's) successful report calls for, computed from the
    /// uploaded files before the report is logged, so that report and comparisons are logged together.
    func cropChecks(for report: RunReport, by nodeId: String) async throws -> [CropCheck] {
        guard report.exitCode == 0, report.failure == nil, let run = state.runs[report.runId], run.nodeId == nodeId,
              let job = state.jobs[run.jobId], let render = job.spec.render
        else { return [] }
        let due = state.cropChecksDue(for: run)
        guard !due.isEmpty else { return [] }
        let crops = job.tasks[run.taskIndex].crops
        let candidates = try await tiles(of: report.outputs, render: render, taskIndex: run.taskIndex, count: crops.count)
        var checks = [CropCheck]()
        for (against, referenceIsCrop) in due {
            let reference: ProofOfRender.Reference = referenceIsCrop
                ? .tiles(try await tiles(of: against.outputs, render: render, taskIndex: run.taskIndex, count: crops.count))
                : .frame(try await blob(of: against.outputs, at: render.framePath(taskIndex: run.taskIndex)))
            // Decoding a large frame takes a while: off the coordinator's executor, which keeps serving meanwhile.
            let comparison = await Task.detached {
                ProofOfRender.compare(reference: reference, candidates: candidates, crops: crops, frameWidth: render.width, frameHeight: render.height)
            }.value
            checks.append(CropCheck(jobId: job.id, taskIndex: run.taskIndex, runId: run.id, againstRunId: against.id, crops: crops, comparison: comparison))
        }
        return checks
    }

    private func tiles(of outputs: [OutputFile], render: JobSpec.Render, taskIndex: Int, count: Int) async throws -> [Data?] {
        var tiles = [Data?]()
        for tile in 0..<count { tiles.append(try await blob(of: outputs, at: render.cropPath(taskIndex: taskIndex, tile: tile))) }
        return tiles
    }

    private func blob(of outputs: [OutputFile], at path: String) async throws -> Data? {
        guard let file = outputs.first(where: { $0.path == path }) else { return nil }
        return try await store.blob(sha256: file.sha256)
    }
}
