"""A tiny inventory: try Kestrel's code actions here (select a function, then Ctrl+.)."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int


def total_value(items):
    total = 0
    for item in items:
        total += item.price * item.quantity
    return total


def restock(items, name, amount):
    for item in items:
        if item.name == name:
            item.quantity += amount
            return item
    raise KeyError(name)


def cheapest(items):
    return min(items, key=lambda item: item.price)
