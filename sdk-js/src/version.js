// Kept equal to package.json "version" (a test checks it).
export var VERSION = '0.1.0'
