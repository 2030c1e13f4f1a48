"""The bulk send engine of one worker: a dispatcher, a sender pool and a recorder.

    dispatcher --Items--> pool (N threads, one SMTP connection each) --Outcomes--> recorder

Each part owns its state and its thread(s); they meet only through a queue, events and
the recorder's claim gate (see each module). Only the dispatcher and the recorder talk to
the database; the senders never do.
"""

from bulletin.delivery.engine.engine import SendEngine

__all__ = ["SendEngine"]
