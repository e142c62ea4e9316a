import CrucibleCore
import CrucibleProof
import CrucibleStore
import Foundation

extension Coordinator {
    /// The comparisons a render run's successful report calls for (a validator's or arbiter's tiles, a re-rendered
    /// frame against a rejected one), computed from the uploaded files before the report is logged, so that report and
    /// comparisons are logged together.
    func cropChecks(for report: RunReport, by nodeId: String) async throws -> [CropCheck] {
        guard report.exitCode == 0, report.failure == nil, let run = state.runs[report.runId], run.nodeId == nodeId, run.state == .running,
              let job = state.jobs[run.jobId], let render = job.spec.render
        else { return [] }
        let due = state.cropChecksDue(for: run)
        guard !due.isEmpty else { return [] }
        var checks = [CropCheck]()
        for check in due {
            let candidates: [Data?] = check.candidateIsFrame
                ? [try await blob(of: report.outputs, at: render.framePath(taskIndex: run.taskIndex))]
                : try await tiles(of: report.outputs, render: render, taskIndex: run.taskIndex, count: check.crops.count)
            let reference: ProofOfRender.Reference = check.referenceIsTiles
                ? .tiles(try await tiles(of: check.against.outputs, render: render, taskIndex: run.taskIndex, count: check.crops.count))
                : .frame(try await blob(of: check.against.outputs, at: render.framePath(taskIndex: run.taskIndex)))
            let crops = check.crops
            // Decoding a large frame takes a while: on a thread of its own, so neither the coordinator's executor nor the
            // cooperative pool waits for it.
            let comparison = await onOwnThread {
                ProofOfRender.compare(reference: reference, candidates: candidates, crops: crops, frameWidth: render.width, frameHeight: render.height)
            }
            checks.append(CropCheck(jobId: job.id, taskIndex: run.taskIndex, runId: run.id, againstRunId: check.against.id, crops: crops, comparison: comparison))
        }
        return checks
    }

    /// A watermarked, half-size preview of the latest frame of a render task: what its requester reviews while the
    /// frame itself is withheld.
    public func framePreview(jobId: String, taskIndex: Int) async throws -> Data {
        let job = try state.job(jobId)
        guard let render = job.spec.render else { throw CrucibleError(.conflict, "job \(jobId) renders no frames") }
        guard job.tasks.indices.contains(taskIndex) else { throw CrucibleError(.notFound, "no task \(taskIndex) in \(jobId)") }
        let latest = job.tasks[taskIndex].runIds.compactMap { state.runs[$0] }.last { $0.role == .primary && $0.state == .completed }
        guard let latest, let frame = try await blob(of: latest.outputs, at: render.framePath(taskIndex: taskIndex)) else {
            throw CrucibleError(.notFound, "task \(taskIndex) of \(jobId) has no frame yet")
        }
        return try await Task.detached { try FramePreview.make(from: frame) }.value
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
