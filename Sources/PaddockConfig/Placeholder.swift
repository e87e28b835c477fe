// Filled in by the runtime.yml work.
