// Generated code lives in the build plugin's output; SwiftPM needs one real source file here.
