"""The bulk send engine of one worker: a dispatcher, a sender pool, a recorder and the
send states.

    dispatcher --Items--> pool (N threads, one SMTP connection each) --Outcomes--> recorder
        |                         ^ before each message: may this send still go?
        +--held sends--> states (re-read every 0.25 s)

Each part owns its state and its thread(s); they meet only through a queue, events and
the recorder's claim gate (see each module). Only the dispatcher, the recorder and the
states thread talk to the database; the senders never do.
"""

from bulletin.delivery.engine.engine import SendEngine

__all__ = ["SendEngine"]
