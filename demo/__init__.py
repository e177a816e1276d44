"""demo: the Gradio app (upload or record a face and a voice, get the talking video), runnable as a Space.

Importing this package builds nothing and starts nothing: :func:`demo.app.build_demo` builds the
``gr.Blocks``, :func:`demo.app.main` parses argv and launches it.
"""
