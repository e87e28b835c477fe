/// The stateful Python executor behind `run_code`: started on demand inside the sandbox (one per code
/// context), it reads one JSON request per line on stdin and answers with the NDJSON result stream the
/// code-interpreter SDK parses (`stdout`, `stderr`, `result`, `error`, `number_of_executions`), then an
/// `end_of_execution` line that the server keeps to itself. Globals persist between executions.
enum PythonKernelScript {
    static let source = #"""
        import ast, json, os, sys, time, traceback
        _out = sys.__stdout__
        _ns = {"__name__": "__main__"}
        _count = 0
        def _emit(obj):
            _out.write(json.dumps(obj) + "\n")
            _out.flush()
        class _Stream:
            def __init__(self, kind):
                self.kind = kind
            def write(self, text):
                if text:
                    _emit({"type": self.kind, "text": text, "timestamp": time.time_ns() // 1000})
                return len(text)
            def flush(self):
                pass
            def isatty(self):
                return False
        def _run(code):
            tree = ast.parse(code, "<cell>", "exec")
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, "<cell>", "exec"), _ns)
            if last is not None:
                value = eval(compile(last, "<cell>", "eval"), _ns)
                if value is not None:
                    _emit({"type": "result", "text": repr(value), "is_main_result": True})
        while True:
            try:
                line = sys.stdin.readline()
            except KeyboardInterrupt:
                continue
            if not line:
                break
            try:
                request = json.loads(line)
            except ValueError:
                continue
            saved = dict(os.environ)
            os.environ.update(request.get("env_vars") or {})
            sys.stdout, sys.stderr = _Stream("stdout"), _Stream("stderr")
            _count += 1
            try:
                _run(request.get("code", ""))
            except BaseException as error:
                _emit({"type": "error", "name": type(error).__name__, "value": str(error),
                       "traceback": "".join(traceback.format_exception(error))})
            finally:
                sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
                os.environ.clear()
                os.environ.update(saved)
            _emit({"type": "number_of_executions", "execution_count": _count})
            _emit({"type": "end_of_execution"})
        """#
}
