"""`mnistnn classify`: read the digit in a person's own images."""
import click


@click.command()
@click.argument("images", nargs=-1)
def classify(images):
    """Read the digit in each of your IMAGES (not implemented yet)."""
    raise click.ClickException("classify is not implemented yet")
