"""Renders one frame, or tiles of it, of the scene Blender opened, at the settings the coordinator sent.

Run by the Crucible agent as `blender -b SCENE --python-exit-code 1 --python crucible_render.py`. Everything that
decides the pixels is set here, not taken from the scene: a validator's tiles must re-render to the same pixels as
the frame they check, so the seed is fixed, dithering is off (its pattern follows pixel positions, which a tile
shifts), denoising is off (Debian's Blender has no OpenImageDenoise) and every pixel gets exactly the samples asked
(adaptive sampling off).
"""
import os
import sys

import bpy

env = os.environ
frame = int(env["CRUCIBLE_RENDER_FRAME"])
width, height = int(env["CRUCIBLE_RENDER_WIDTH"]), int(env["CRUCIBLE_RENDER_HEIGHT"])
# A validator's tiles: one "x,y,width,height" per line from the frame's top-left, and where each goes.
crops = [tuple(int(v) for v in line.split(",")) for line in env.get("CRUCIBLE_RENDER_CROPS", "").splitlines() if line]
crop_outputs = env.get("CRUCIBLE_RENDER_CROP_OUTPUTS", "").splitlines()

scene = bpy.context.scene
render = scene.render
render.engine = "CYCLES"
cycles = scene.cycles
cycles.samples = int(env["CRUCIBLE_RENDER_SAMPLES"])
cycles.seed = int(env["CRUCIBLE_RENDER_SEED"])
cycles.use_animated_seed = False
cycles.use_adaptive_sampling = False
cycles.use_denoising = False
render.dither_intensity = 0
render.resolution_x, render.resolution_y, render.resolution_percentage = width, height, 100
render.threads_mode = "FIXED"
render.threads = max(1, int(env.get("CRUCIBLE_RENDER_THREADS", "1")))
settings = render.image_settings
settings.file_format = "PNG"
settings.color_mode = "RGBA"
settings.color_depth = env.get("CRUCIBLE_RENDER_BIT_DEPTH", "8")
settings.compression = 15


def use_gpu():
    """Cycles on the run's GPUs (OptiX, else CUDA) when it holds any and this Blender can use them."""
    if not env.get("CUDA_VISIBLE_DEVICES"):
        return "CPU"
    preferences = bpy.context.preferences.addons["cycles"].preferences
    for kind in ("OPTIX", "CUDA"):
        try:
            preferences.compute_device_type = kind
        except TypeError:
            continue
        preferences.get_devices()
        devices = [d for d in preferences.devices if d.type == kind]
        if devices:
            for device in preferences.devices:
                device.use = device.type == kind
            cycles.device = "GPU"
            return kind
    return "CPU (this Blender has no CUDA or OptiX)"


cycles.device = "CPU"
print(f"crucible: rendering frame {frame} at {width}x{height}, {cycles.samples} samples, seed {cycles.seed} on {use_gpu()}", flush=True)



def render_to(path, expected):
    bpy.ops.render.render()
    bpy.data.images["Render Result"].save_render(filepath=path, scene=scene)
    written = bpy.data.images.load(path)
    if tuple(written.size) != expected:
        print(f"crucible: Blender wrote {tuple(written.size)} for {os.path.basename(path)}, not {expected}", file=sys.stderr)
        sys.exit(1)
    bpy.data.images.remove(written)
    print(f"crucible: wrote {os.path.basename(path)}", flush=True)


scene.frame_set(frame)
if not crops:
    render.use_border = False
    render_to(env["CRUCIBLE_RENDER_OUTPUT"], (width, height))
else:
    if len(crop_outputs) != len(crops):
        print("crucible: tiles and their outputs differ in number", file=sys.stderr)
        sys.exit(1)
    # Blender's border runs from the bottom-left in fractions of the frame; a quarter pixel inside each edge lands on
    # the intended pixel whether Blender rounds or truncates. One Blender process renders every tile.
    render.use_border, render.use_crop_to_border = True, True
    for (x, y, w, h), path in zip(crops, crop_outputs):
        render.border_min_x, render.border_max_x = (x + 0.25) / width, (x + w + 0.25) / width
        render.border_min_y, render.border_max_y = (height - y - h + 0.25) / height, (height - y + 0.25) / height
        render_to(path, (w, h))
