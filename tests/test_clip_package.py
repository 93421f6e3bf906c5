"""The CLIP package stands alone: it loads and runs CLIP without the data package, the backend or Dassl."""
import subprocess
import sys
import textwrap

_BLOCKED = ("mopd.data", "mopd.backend", "mopd.engine", "dassl", "mopd.demo")


def test_every_clip_module_imports_and_the_tiny_clip_runs_with_data_backend_and_dassl_unimportable():
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.startswith({_BLOCKED!r}):
                    raise ImportError(f"blocked: {{name}}")
                return None

        sys.meta_path.insert(0, Block())
        import importlib, pkgutil
        import clip, torch
        import mopd.clip
        for module in pkgutil.iter_modules(mopd.clip.__path__, "mopd.clip."):
            importlib.import_module(module.name)
        model = mopd.clip.load_clip(mopd.clip.TINY).float()
        text = mopd.clip.TextEncoder(model).encode_tokens(clip.tokenize(["a photo of a dog."]))
        size = model.visual.input_resolution
        image = model.encode_image(torch.zeros(1, 3, size, size))
        assert text.shape == image.shape, (text.shape, image.shape)
        loaded = sorted(m for m in sys.modules if m.startswith({_BLOCKED!r}))
        assert not loaded, loaded
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
