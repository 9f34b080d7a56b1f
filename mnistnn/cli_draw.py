"""`mnistnn draw`: a local page to draw digits on and watch the network read them."""
import click

from .cli_common import (Whole, load_network, model_dataset_option, note, weights_dir_option,
                         weights_option)


@click.command()
@click.option("--port", type=Whole(0, 65535), default=0, show_default=True,
              help="Port to listen on; 0 picks a free one.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Any other than 127.0.0.1 lets other machines "
                   "use the page (a warning says so).")
@weights_option
@weights_dir_option
@model_dataset_option
@click.option("--no-browser", is_flag=True,
              help="Only print the URL; do not open a browser (none is opened without "
                   "a display anyway).")
def draw(port, host, weights, weights_dir, dataset, no_browser):
    """Draw digits in your browser and watch the network read them as you draw.

    Starts a web page on this machine: a drawing pad, the network's reading and
    probabilities, the 28x28 image it sees, the hidden units that respond most,
    and what it imagines each digit looks like. The URL is printed on stdout;
    Ctrl-C stops the server.

    \b
    Examples:
      mnistnn draw
      mnistnn draw --port 8000 --no-browser --weights weights/best.npz
      mnistnn draw --dataset fashion-mnist
    """
    from . import checkpoint, server

    source = checkpoint.locate(weights, weights_dir, dataset)
    net = load_network(source, dataset=dataset)
    page = server.DrawServer(net, host, port, source=source, on_error=note)
    warning = server.exposure_warning(host)
    if warning:
        note(warning)
    click.echo(page.url)
    note("Draw on the page; Ctrl-C stops the server.")
    if not no_browser:
        server.open_browser(page.url)
    page.run()
    note("Stopped.")
