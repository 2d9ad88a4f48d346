"""vidqa.annotate"""
