"""PhotoChanger's domain: entities, state rules and deadline arithmetic. Standard library only."""
