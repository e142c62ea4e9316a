import CrucibleCore
import Foundation

/// A small animated scene that Blender makes itself, so that a render job can be tried (devnet's demo) and tested
/// without shipping a `.blend` file: a monkey turning a quarter turn over frames 1–8 on a plane under a sun, so every
/// frame differs from its neighbours. Denoising is off (Debian's Blender has no OpenImageDenoise).
public enum DemoScene {
    static let script = """
    import bpy, math, os
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.engine = 'CYCLES'
    scene.cycles.use_denoising = False
    scene.frame_start, scene.frame_end = 1, 8
    bpy.ops.mesh.primitive_monkey_add(location=(0, 0, 0))
    monkey = bpy.context.object
    monkey.rotation_euler = (0, 0, 0)
    monkey.keyframe_insert('rotation_euler', frame=1)
    monkey.rotation_euler = (0, 0, math.radians(90))
    monkey.keyframe_insert('rotation_euler', frame=8)
    bpy.ops.mesh.primitive_plane_add(size=10, location=(0, 0, -1))
    bpy.ops.object.light_add(type='SUN', location=(3, -3, 5))
    bpy.context.object.data.energy = 3
    bpy.ops.object.camera_add(location=(0, -4, 1.5), rotation=(math.radians(75), 0, 0))
    scene.camera = bpy.context.object
    scene.world = bpy.data.worlds.new('sky')
    scene.world.color = (0.2, 0.2, 0.25)
    bpy.ops.wm.save_as_mainfile(filepath=os.environ['CRUCIBLE_DEMO_SCENE'])
    """

    /// Writes the scene to `path` with `rendering`'s Blender.
    public static func make(with rendering: RenderRuntime, at path: String) async throws {
        try await onOwnThread { try makeBlocking(with: rendering, at: path) }
    }

    private static func makeBlocking(with rendering: RenderRuntime, at path: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [rendering.blender, "-b", "--python-exit-code", "1", "--python-expr", script]
        process.environment = ProcessInfo.processInfo.environment.merging(["CRUCIBLE_DEMO_SCENE": path]) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0, FileManager.default.fileExists(atPath: path) else {
            throw CrucibleError(.unavailable, "Blender could not make the demo scene (status \(process.terminationStatus))")
        }
    }
}
