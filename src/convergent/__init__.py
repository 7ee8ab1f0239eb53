"""convergent: do networks that differ only in their random seed learn the same features?"""

__version__ = "0.1.0"
