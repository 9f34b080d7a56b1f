"""`mnistnn imagine`: what the network thinks a digit looks like."""
import click


@click.command()
@click.argument("digit")
def imagine(digit):
    """Draw what the network thinks DIGIT looks like (not implemented yet)."""
    raise click.ClickException("imagine is not implemented yet")
