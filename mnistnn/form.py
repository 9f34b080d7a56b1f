"""The MNIST form: the one home of the numbers that describe a digit image.

Coordinates are pixel indices: the centre of the top-left pixel is (0, 0), of the
bottom-right one (27, 27).
"""

SIDE = 28                  # an image is SIDE x SIDE pixels
PIXELS = SIDE * SIDE       # 784: what the network reads
CLASSES = 10               # the digits 0-9: what the network answers
BOX = 20                   # MNIST scaled each digit's ink to fit a BOX x BOX square

# Two centres, for two purposes:
# - MIDDLE, 13.5, is the middle of the field: the frame around imagined digits is
#   symmetric about it, and the augmentation rotates, scales and shears about it;
# - CENTRE_OF_MASS, 14.0, is where MNIST's digits have their centre of mass. Measured on
#   the 60,000 training digits: mean 13.996 (rows) and 14.007 (columns), spread 0.29,
#   the same on the test set; MNIST shifted each digit by whole pixels to put its centre
#   of mass at 14. A person's digit is centred there to look like MNIST's.
# They differ by half a pixel; the pivot of a random rotation matters far less than that
# (10 degrees about one or the other moves a digit by 0.09 px), so MIDDLE keeps the
# augmentation the recipes were measured with.
MIDDLE = (SIDE - 1) / 2
CENTRE_OF_MASS = 14.0
