"""vidqa.review"""
